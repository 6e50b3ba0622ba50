"""Small helpers shared by the integration tests (importable because tests/ holds the root conftest)."""


def _can_limit() -> bool:
    from btb.cgroups import capabilities

    return capabilities()["limit_version"] != "none"


CAN_LIMIT = _can_limit()  # a writable cgroup memory controller: budgets are enforced, a level can fail


def campaign_id(stdout: str) -> str:
    """The id `btb submit` prints first ("campaign ID: N trial(s) enqueued")."""
    return stdout.split()[1].rstrip(":")


def wait_until(pred, timeout_s: float, what: str, every_s: float = 0.1):
    """Poll `pred` until it returns something truthy; fail the test with `what` after `timeout_s`."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def run_counts(ledger, cid: str) -> dict[tuple, int]:
    """Measured and warm-up run records per (trial, query, binding): what "0 lost, 0 duplicated" counts."""
    out: dict[tuple, int] = {}
    for r in ledger.records(cid, "run"):
        k = (r["trial"], r["query"], r["binding"])
        out[k] = out.get(k, 0) + 1
    return out


def submit_background(campaign_file, log_dir):
    """`btb submit --wait` in a child process (so the test can inject faults meanwhile)."""
    import os
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "btb.cli.main", "submit", str(campaign_file), "--wait"],
                            stdout=open(log_dir / "submit.out", "w"), stderr=open(log_dir / "submit.err", "w"),
                            env=os.environ.copy())


def background_campaign(campaign_file, log_dir, ledger, name: str):
    """`submit_background`, then wait until campaign `name` is enqueued: (process, campaign id, first trial id)."""
    p = submit_background(campaign_file, log_dir)
    cid = submitted(ledger, name)
    return p, cid, f"{cid}.t000"


def hungry_query(dsn: str) -> None:
    """A query that needs far more than a test budget, in the trial's own PostgreSQL: the kernel OOM-kills
    the backend (a 4 GB work_mem sort of 30 M md5 strings)."""
    import psycopg

    try:
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("set work_mem = '4GB'")
            c.execute("select count(*) from (select g, md5(g::text) m from generate_series(1, 30000000) g "
                      "order by m) s").fetchall()
    except psycopg.Error:
        pass  # killed: that is the point


def scratch_provider(make, prefix: str):
    """A provider made by `make(root)` on a fresh engine root (mode 0755, so the engines' OS users reach their
    work dirs; not under pytest's tmp_path, which pytest keeps 0700); every trial it still holds is stopped
    and the root removed at the end. A generator: fixtures `yield from` it."""
    import shutil
    import tempfile
    from pathlib import Path

    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    p = make(root)
    try:
        yield p
    finally:
        for t in p.trials():
            p.stop(t)
        shutil.rmtree(root, ignore_errors=True)


def run_limited(argv: list[str], limit_bytes: int, timeout_s: float = 600):
    """Run `argv` in a fresh memory cgroup of `limit_bytes` (page cache included), removed after."""
    import subprocess
    import uuid

    from btb.cgroups.machine import create_slot

    slot = create_slot(f"btb-test-limited-{uuid.uuid4().hex[:8]}", limit_bytes)
    try:
        assert slot.read_limit() == limit_bytes
        return subprocess.run(slot.wrap(argv), capture_output=True, text=True, timeout=timeout_s)
    finally:
        slot.kill()
        slot.remove()


class CampaignRun:
    """A campaign submitted with `--wait` by `run_campaign`: its id, output dir, the CLI's result, and the
    summary and records it wrote (read when first asked for)."""

    def __init__(self, cid: str, out, result):
        self.cid, self.dir, self.result = cid, out / cid, result

    @property
    def stdout(self) -> str:
        return self.result.stdout

    @property
    def summary(self) -> dict:
        import json

        return json.loads((self.dir / "summary.json").read_text())

    @property
    def records(self) -> list[dict]:
        import json

        return [json.loads(x) for x in (self.dir / "records.jsonl").read_text().splitlines()]


def write_campaign(tmp_path, body: str):
    """tmp_path/campaign.yaml: `body` (YAML without `output_dir`) with its results going to tmp_path/results."""
    camp = tmp_path / "campaign.yaml"
    camp.write_text(body.strip("\n") + f"\noutput_dir: {tmp_path / 'results'}\n")
    return camp


def run_campaign(btb_cli, tmp_path, body: str, *, check: bool = True, timeout: float = 900) -> CampaignRun:
    """`btb submit FILE --wait` through the real CLI on `write_campaign(tmp_path, body)`: what it made."""
    r = btb_cli("submit", write_campaign(tmp_path, body), "--wait", check=check, timeout=timeout)
    return CampaignRun(campaign_id(r.stdout), tmp_path / "results", r)


def submitted(ledger, name: str, timeout_s: float = 60) -> str:
    """The id of campaign `name` once a `btb submit` running in the background has enqueued it."""
    return wait_until(lambda: next((c for c in ledger.campaigns(5) if c.startswith(f"{name}-")), None), timeout_s,
                      f"campaign {name} to be submitted")
