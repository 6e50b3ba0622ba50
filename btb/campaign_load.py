"""Reading a campaign file safely, and turning every problem in it into one line (field path first).

Input is bounded before anything is parsed: only a regular file (never a directory, FIFO or device, so
`/dev/zero` and a FIFO are refused without being opened for reading), at most MAX_BYTES, UTF-8 text
without NUL, YAML nesting at most MAX_DEPTH (checked on the token stream, which is iterative, before the
recursive composer runs), no anchors/aliases (no alias bomb), no duplicate keys. Values are validated
strictly (JSON-like: no bool for a number, no number for a text), and the problems pydantic finds are all
reported, plus the checks the model alone cannot make (empty query list, timeout floor, output_dir
staying inside the results tree, size of the plan).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from btb.campaign import Campaign, CampaignError
from btb.units import parse_size

MAX_BYTES = 256 * 1024  # a campaign file is a few hundred bytes; 256 KiB is far beyond any real one
MAX_DEPTH = 16  # a campaign is 4 levels deep
MAX_TRIALS = 5000
MIN_TIMEOUT_S = 0.01
MAX_SEED = 2**32 - 1
MAX_LEVEL_BYTES = 64 * 2**40  # 64 TiB: anything above is a typo


class CampaignProblems(CampaignError):
    """Every problem of a campaign file: `problems` holds one line each ("field: what is wrong")."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        n = len(problems)
        head = f"{source}: {n} problem{'s' if n != 1 else ''}"
        super().__init__(head + "".join(f"\n  {p}" for p in problems))

    @property
    def head(self) -> str:
        n = len(self.problems)
        return f"{self.source}: {n} problem{'s' if n != 1 else ''}"


# --- reading ------------------------------------------------------------------------------------------
def read_text(path: Path) -> str:
    """The file's text, or CampaignProblems saying in one line why it cannot be a campaign file."""
    src = str(path)

    def bad(msg: str) -> CampaignProblems:
        return CampaignProblems(src, [f"(file): {msg}"])

    try:
        st = os.stat(path)  # follows symlinks; a loop raises ELOOP
    except FileNotFoundError:
        raise bad("file not found") from None
    except OSError as e:
        raise bad(f"cannot be read ({e.strerror or type(e).__name__})") from None
    if stat.S_ISDIR(st.st_mode):
        raise bad("is a directory, not a campaign file")
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(
            st.st_mode)) else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file"
        raise bad(f"is {kind}, not a regular file")
    if st.st_size > MAX_BYTES:
        raise bad(f"is {st.st_size} bytes; a campaign file is at most {MAX_BYTES // 1024} KiB")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between stat and open
                raise bad("is not a regular file")
            data = os.read(fd, MAX_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as e:
        raise bad(f"cannot be read ({e.strerror or type(e).__name__})") from None
    if len(data) > MAX_BYTES:
        raise bad(f"is larger than {MAX_BYTES // 1024} KiB")
    if b"\x00" in data:
        raise bad(f"holds NUL bytes (offset {data.index(0)}): a binary file, not YAML text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise bad(f"is not UTF-8 text (byte {e.start}, line {line})") from None


def _duplicates(node, path: str = "") -> list[str]:
    """Duplicate keys anywhere in the composed tree, with their field path (iterative: depth is bounded)."""
    out: list[str] = []
    stack = [(node, path)]
    while stack:
        n, p = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in n.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else None
                line = k.start_mark.line + 1
                sub = f"{p}.{key}" if p else str(key)
                if key is not None and key in seen:
                    out.append(f"{sub}: duplicate key (lines {seen[key]} and {line}); give it once")
                elif key is not None:
                    seen[key] = line
                stack.append((v, sub))
        elif isinstance(n, yaml.SequenceNode):
            stack += [(v, f"{p}[{i}]") for i, v in enumerate(n.value)]
    return sorted(out)


def parse_yaml(text: str, src: str) -> Any:
    def bad(msg: str) -> CampaignProblems:
        return CampaignProblems(src, [f"(file): {msg}"])

    if not text.strip():
        raise bad("is empty; a campaign needs at least name, datasets and scenarios")
    depth = 0
    try:
        for tok in yaml.scan(text, Loader=yaml.SafeLoader):  # the scanner is iterative: safe on deep input
            if isinstance(tok, (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken,
                                yaml.BlockSequenceStartToken, yaml.BlockMappingStartToken)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise bad(f"nests deeper than {MAX_DEPTH} levels (line {tok.start_mark.line + 1}); "
                              "a campaign is 4 levels deep")
            elif isinstance(tok, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)):
                depth -= 1
            elif isinstance(tok, (yaml.AliasToken, yaml.AnchorToken)):
                raise bad(f"uses a YAML anchor or alias (line {tok.start_mark.line + 1}); campaign files "
                          "allow neither (write values out)")
            elif isinstance(tok, yaml.TagToken) and not str(tok.value[0] or "").startswith("!!"):
                raise bad(f"uses a custom YAML tag (line {tok.start_mark.line + 1})")
    except yaml.YAMLError as e:
        raise bad(_yaml_msg(e)) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        dups = _duplicates(node) if node is not None else []
        if dups:
            raise CampaignProblems(src, dups)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        raise bad(_yaml_msg(e)) from None
    except RecursionError:
        raise bad("nests too deeply") from None
    finally:
        loader.dispose()
    return data


def _yaml_msg(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
    what = getattr(e, "problem", None) or str(e).splitlines()[0]
    return f"is not valid YAML ({where}{what})"


# --- validating -----------------------------------------------------------------------------------------
def _loc(parts) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and ("[" in p or p in ("str", "int", "float", "bool", "list", "dict")):
            continue  # pydantic's union branch tags, not field names
        else:
            out += ("." if out else "") + str(p)
    return out or "(top level)"


def _show(v: Any) -> str:
    s = json.dumps(v, default=str, ensure_ascii=False) if not isinstance(v, str) else repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _pydantic_lines(e) -> list[str]:
    lines: list[str] = []
    seen_loc: set[str] = set()
    for err in e.errors():
        loc = _loc(err["loc"])
        if loc.startswith("memory.levels") and err["type"] not in ("value_error",):
            # a union of list-of-sizes and 'auto': pydantic reports every branch; say it once, plainly
            key = "memory.levels"
            if key in seen_loc:
                continue
            seen_loc.add(key)
            lines.append(f"memory.levels: expected a list of sizes (e.g. [256MiB, 1GiB, unlimited]) or auto, "
                         f"got {_show(err.get('input'))}")
            continue
        if loc in seen_loc:
            continue
        seen_loc.add(loc)
        msg = err["msg"].removeprefix("Value error, ")
        head, sep, rest = msg.partition(": ")
        if loc == "(top level)" and sep and head.replace("_", "").replace(".", "").isalnum():
            loc, msg = head, rest  # a model-level check that names its field
        if err["type"] == "missing":
            msg = "missing required field"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field (check spelling; see campaigns/example.yaml)"
        elif "input" in err and err["type"] not in ("value_error",):
            msg += f" (got {_show(err['input'])})"
        lines.append(f"{loc}: {msg}")
    return lines


def _extra_checks(raw: dict, results_root: Path | None) -> list[str]:
    """What the model does not say: checked on the raw mapping, so they add to pydantic's problems."""
    out: list[str] = []
    q = raw.get("queries")
    if isinstance(q, list) and not q:
        out.append("queries: empty list; omit the field to run every query, or name some (e.g. [Q1, Q7])")
    prot = raw.get("protocol")
    if isinstance(prot, dict):
        t = prot.get("timeout_s")
        if isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t < MIN_TIMEOUT_S:
            out.append(f"protocol.timeout_s: {t} s is below the floor of {MIN_TIMEOUT_S} s")
    ds = raw.get("datasets")
    if isinstance(ds, list):
        for i, d in enumerate(ds):
            if isinstance(d, dict):
                s = d.get("seed")
                if isinstance(s, int) and not isinstance(s, bool) and s > MAX_SEED:
                    out.append(f"datasets[{i}].seed: {s} is above {MAX_SEED}")
                mp = d.get("model")
                if isinstance(mp, str):
                    problem = model_problem(mp)
                    if problem:
                        out.append(f"datasets[{i}].model: {problem}")
    name = raw.get("name")
    if isinstance(name, str) and name.startswith("."):
        out.append(f"name: {name!r} may not start with '.'")
    mem = raw.get("memory")
    if isinstance(mem, dict) and isinstance(mem.get("levels"), list):
        if len(mem["levels"]) > 32:
            out.append(f"memory.levels: {len(mem['levels'])} levels; at most 32")
        for i, lv in enumerate(mem["levels"]):
            if isinstance(lv, (str, int)) and not isinstance(lv, bool) and str(lv).strip().lower() != "unlimited":
                try:
                    if parse_size(lv) > MAX_LEVEL_BYTES:
                        out.append(f"memory.levels[{i}]: {lv!r} is above 64TiB")
                except ValueError:
                    pass  # the model says it
    od = raw.get("output_dir")
    if isinstance(od, str):
        p = output_dir_problem(od, results_root)
        if p:
            out.append(f"output_dir: {p}")
    return out


def model_problem(value: str) -> str | None:
    """None if `value` names a readable Brick model file (already resolved against the campaign's folder)."""
    if not value.strip() or "\x00" in value:
        return "empty; give the path of a Brick model file (.ttl or .nt)"
    p = Path(value)
    if not p.exists():
        return f"file not found: {value}"
    if not p.is_file():
        return f"{value} is not a regular file"
    if not os.access(p, os.R_OK):
        return f"{value} cannot be read"
    if p.suffix.lower() not in (".ttl", ".turtle", ".nt", ".ntriples"):
        return f"{value}: expected a Turtle (.ttl) or N-Triples (.nt) file"
    return None


def resolve_models(raw: Any, base: Path) -> Any:
    """Relative `datasets[].model` paths resolved against the campaign file's folder (absolute in trials)."""
    if isinstance(raw, dict) and isinstance(raw.get("datasets"), list):
        for d in raw["datasets"]:
            if isinstance(d, dict) and isinstance(d.get("model"), str) and d["model"].strip():
                d["model"] = str((base / d["model"]).resolve()) if not Path(d["model"]).is_absolute() else d["model"]
    return raw


def output_dir_problem(value: str, results_root: Path | None = None) -> str | None:
    """None if `value` is an acceptable output_dir: a relative path that stays inside the results root,
    or an absolute path to a directory (existing, or to be made under an existing directory)."""
    if not value.strip():
        return "empty; omit it for the default (results)"
    if "\x00" in value or any(ord(c) < 32 for c in value):
        return "holds control characters"
    p = Path(value)
    if p.is_absolute():
        if p.exists() and not p.is_dir():
            return f"{value!r} exists and is not a directory"
        parent = next((a for a in p.parents if a.exists()), None)
        if p.exists() or (parent is not None and parent.is_dir()):
            return None
        return f"{value!r}: {parent} is not a directory"
    parts = p.parts
    depth = 0
    for part in parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return f"{value!r} leaves the results tree ('..'); give a path inside it, or an absolute directory"
        elif part not in (".", ""):
            depth += 1
    return None


def validate_mapping(raw: Any, src: str, results_root: Path | None = None) -> Campaign:
    """Campaign from a parsed mapping, or CampaignProblems listing every problem."""
    if raw is None:
        raise CampaignProblems(src, ["(file): holds only comments; a campaign needs at least name, datasets and "
                                     "scenarios"])
    if not isinstance(raw, dict):
        raise CampaignProblems(src, [f"(top level): expected a mapping with name, datasets, scenarios, ... "
                                     f"(got {type(raw).__name__})"])
    problems = []
    bad_keys = [k for k in raw if not isinstance(k, str)]
    for k in bad_keys:
        problems.append(f"{_show(k)}: field names are text")
    campaign = None
    try:
        as_json = json.dumps({str(k): v for k, v in raw.items()}, default=str)
        campaign = Campaign.model_validate_json(as_json, strict=True)
    except ValidationError as e:
        problems += _pydantic_lines(e)
    except ValueError as e:  # e.g. a float that JSON cannot carry (nan, inf)
        problems.append(f"(top level): {e}")
    problems += _extra_checks(raw, results_root)
    if campaign is not None and not problems:
        n = len(campaign.datasets) * len(campaign.scenarios) * len(campaign.memory.resolved())
        if n > MAX_TRIALS:
            problems.append(f"(plan): {n} trials (datasets × scenarios × levels); at most {MAX_TRIALS}")
    if problems:
        raise CampaignProblems(src, problems)
    return campaign


def load_campaign(path: Path | str, results_root: Path | None = None) -> Campaign:
    """Read and validate a campaign file; CampaignProblems (a CampaignError) lists every problem, one line
    each. Input is bounded and checked before parsing (see the module's docstring)."""
    path = Path(path)
    text = read_text(path)
    raw = resolve_models(parse_yaml(text, str(path)), path.resolve().parent)
    return validate_mapping(raw, str(path), results_root)
