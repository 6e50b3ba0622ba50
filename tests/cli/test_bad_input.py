"""Hostile and malformed campaign files: `btb submit FILE` (a real child process) exits 2 and lists every
problem, one line each with the field path first, no traceback, within seconds, and enqueues nothing.

The corpus is tests/corpus/*.yaml plus what cannot be committed, made here: a 50 MB file, a FIFO,
/dev/zero, a symlink loop, a dangling symlink, a directory, 20k-deep flow and block nesting.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
HEAD = re.compile(r"^error: .+: (\d+) problems?$")
LINE = re.compile(r"^  (\(file\)|\(top level\)|\(plan\)|[A-Za-z_\"'0-9][^:]*): \S")

# what some files must say (field paths; a file with several problems lists all of them)
EXPECT = {
    "many_errors.yaml": ["name", "datasets[0].profile", "datasets[0].seed", "scenarios", "protocol.warmups",
                         "protocol.runs", "queries", "extra"],
    "bool_seed.yaml": ["datasets[0].seed"],
    "empty_queries.yaml": ["queries"],
    "timeout_tiny.yaml": ["protocol.timeout_s"],
    "duplicate_keys.yaml": ["name"],
    "duplicate_nested_keys.yaml": ["protocol.runs"],
    "output_dir_traversal.yaml": ["output_dir"],
    "output_dir_devnull.yaml": ["output_dir"],
    "missing_all.yaml": ["name", "datasets", "scenarios"],
    "alias_bomb.yaml": ["(file)"],
    "markup_in_scenario.yaml": ["scenarios"],
    "name_markup.yaml": ["name"],
}
# printed literally: rich markup in a value is not interpreted (nor dropped)
LITERAL = {"markup_in_scenario.yaml": "'[/x]', '[bold]P1'", "name_markup.yaml": "'[/bold]x[red]'"}


def _generated(tmp: Path) -> list[Path]:
    out = []
    big = tmp / "big_50MB.yaml"
    with big.open("wb") as f:
        f.write(b"name: x\nlist:\n")
        line = b"  - " + b"a" * 60 + b"\n"
        f.write(line * (50 * 2**20 // len(line)))
    out.append(big)
    fifo = tmp / "fifo.yaml"
    os.mkfifo(fifo)
    out.append(fifo)
    out.append(Path("/dev/zero"))
    loop = tmp / "loop.yaml"
    loop.symlink_to(tmp / "loop2.yaml")
    (tmp / "loop2.yaml").symlink_to(loop)
    out.append(loop)
    dangling = tmp / "dangling.yaml"
    dangling.symlink_to(tmp / "nowhere.yaml")
    out.append(dangling)
    d = tmp / "a_directory.yaml"
    d.mkdir()
    out.append(d)
    deep = tmp / "deep_flow.yaml"
    deep.write_text("name: " + "[" * 20000 + "]" * 20000 + "\n")
    out.append(deep)
    deep_map = tmp / "deep_flow_map.yaml"
    deep_map.write_text("a: " + "{a: " * 20000 + "1" + "}" * 20000 + "\n")
    out.append(deep_map)
    block = tmp / "deep_block.yaml"
    block.write_text("".join(" " * i + "a:\n" for i in range(3000)) + " " * 3000 + "a: 1\n")
    out.append(block)
    return out


def _submit(path: Path, env: dict) -> tuple[Path, subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "btb.cli.main", "submit", str(path)], capture_output=True, text=True,
                       timeout=60, env=env, stdin=subprocess.DEVNULL)
    return path, r, time.monotonic() - t0


@pytest.mark.integration
def test_corpus_every_file_refused_with_every_problem_and_nothing_enqueued(tmp_path, redis_server):
    from btb.results.store import Ledger

    ledger = Ledger(redis_server.redis_url)
    before = set(ledger.campaigns(10_000))
    files = sorted(CORPUS.iterdir()) + _generated(tmp_path)
    assert len(files) >= 35
    env = os.environ.copy() | {"COLUMNS": "80"}  # a narrow terminal must not wrap a problem onto two lines
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda p: _submit(p, env), files))
    # never hang: a file is refused in about the time of any other (a child's start-up dominates; the
    # machine may be loaded, so the bound is relative to the median, with 20 s as the floor)
    times = sorted(sec for _, _, sec in results)
    bound = max(20.0, 3 * times[len(times) // 2])
    failures = []
    for path, r, seconds in results:
        name = path.name
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        why = []
        if r.returncode != 2:
            why.append(f"exit {r.returncode}")
        if "Traceback" in r.stderr or "Traceback" in r.stdout:
            why.append("traceback")
        if r.stdout.strip():
            why.append(f"stdout {r.stdout[:200]!r}")
        m = HEAD.match(lines[0]) if lines else None
        if not m:
            why.append(f"no head line: {lines[:1]}")
        elif int(m.group(1)) != len(lines) - 1:
            why.append(f"head says {m.group(1)} problems, {len(lines) - 1} lines follow")
        bad_lines = [ln for ln in lines[1:] if not LINE.match(ln)]
        if bad_lines:
            why.append(f"lines not 'field: problem': {bad_lines}")
        fields = [ln.strip().split(": ", 1)[0] for ln in lines[1:]]
        missing = [f for f in EXPECT.get(name, []) if f not in fields]
        if missing:
            why.append(f"fields not named: {missing} (got {fields})")
        if name in LITERAL and LITERAL[name] not in r.stderr:
            why.append(f"value not printed literally: {r.stderr!r}")
        if seconds > bound:
            why.append(f"took {seconds:.1f}s (median {times[len(times) // 2]:.1f}s)")
        if why:
            failures.append(f"{name}: {'; '.join(why)}\n{r.stderr[-600:]}")
    assert not failures, "\n".join(failures)
    assert set(ledger.campaigns(10_000)) == before, "a refused campaign was enqueued"


def test_sizes_accept_binary_and_decimal_units_and_show_them_as_written(tmp_path):
    from btb.campaign import level_bytes
    from btb.campaign_load import load_campaign

    p = tmp_path / "c.yaml"
    p.write_text("name: t\ndatasets: [{profile: tiny-1d}]\nscenarios: [P1]\n"
                 "memory: {levels: [1GB, 256MB, 512MiB, 536870912, 1GiB, unlimited]}\n")
    c = load_campaign(p)
    assert c.memory.resolved() == ["256MB", "512MiB", "1GB", "1GiB", "unlimited"]  # 536870912 == 512MiB: once
    assert level_bytes("256MB") == 256 * 10**6 and level_bytes("1GB") == 10**9 and level_bytes("1GiB") == 2**30


def test_output_dir_absolute_directory_is_accepted(tmp_path):
    from btb.campaign_load import load_campaign

    p = tmp_path / "c.yaml"
    p.write_text(f"name: t\ndatasets: [{{profile: tiny-1d}}]\nscenarios: [P1]\noutput_dir: {tmp_path}\n")
    assert load_campaign(p).output_dir == str(tmp_path)
    p.write_text("name: t\ndatasets: [{profile: tiny-1d}]\nscenarios: [P1]\noutput_dir: results/sub/../x\n")
    assert load_campaign(p).output_dir == "results/sub/../x"


@pytest.mark.parametrize("argv", [
    ["submit"], ["submit", "--bogus", "x"], ["nope"], ["report", "--out"], ["submit", "x.yaml", "--timeout", "soon"],
    ["report", "--from", "/nonexistent/results"], ["compare", "a"], ["cancel"], ["list", "--limit", "0"],
    ["submit", "--resume"], ["status", "a", "b"], ["report", "--from", "/etc"],
])
def test_every_wrong_argument_is_one_line(argv):
    r = subprocess.run([sys.executable, "-m", "btb.cli.main", *argv], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr and "╭" not in r.stderr
