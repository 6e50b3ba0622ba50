"""Do the query texts scale? EXPLAIN (ANALYZE, BUFFERS) of every query × binding on two scales.

For each scenario (P1, P2) and query, the rows every plan node examined (actual rows + rows removed by a
filter, join filter or recheck, × loops, summed over the plan) are added up over the bindings of each
dataset, and their ratio between the two scales is compared with the ratio of the data the query must
read. A text that is linear in what it reads examines a·S + b·N + c·A rows (S: samples it must read, N: the
structure it may walk, A: the rows it returns — bindings are drawn per dataset, so one scale may ask Q1
about a main meter and the other about a tenant meter), so its ratio is at most max(S, N, A ratios):
that is the data ratio. S is measured
independently of SQL, as the samples the oracle (btb.dataset.oracle) reads for the same bindings; N is
nodes + edges. A quadratic plan (N²) exceeds it by far. A text whose plan grows faster
than its data — a nested loop rescanning a table per outer row, say — shows a ratio above the data
ratio; the check fails above 1.5 × the data ratio.

Windows are made comparable: every windowed binding is evaluated over the whole first day (Q11: as of
its end), so a ratio compares data sizes, not the lengths of randomly drawn windows. Ids come from
each dataset's own bindings. Datasets are generated (or reused after their fingerprint is checked) under
--root; a scratch PostgreSQL is started and destroyed.

    python benchmarks/bench_explain.py [--small tiny-1d] [--large small-1d] [--seed 1] [--scenarios P1,P2]
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg

from btb.dataset.format import Manifest, load_bindings
from btb.dataset.generator import ensure_dataset
from btb.engines.base import QUERY_IDS, RunOptions
from btb.engines.postgres.scenario import query_texts
from btb.engines.registry import scenario_class

LIMIT = 1.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def scratch_postgres(tmp: Path):
    """A scratch PostgreSQL; yields fresh_endpoint(dbname) -> Endpoint of a new empty database on it.
    Works with the provider API (btb.infra.local) and, before it, with btb.infra.postgres.LocalPostgres."""
    try:
        from btb.infra.engines.postgres.client import fresh_database
        from btb.infra.local import LocalProvider
    except ImportError:
        LocalProvider = None  # noqa: N806 - older layout below
    if LocalProvider is not None:
        provider = LocalProvider(tmp / "engines", "bench")
        try:
            ep = provider.start("bench-explain", ("postgres",), None).endpoints["postgres"]
            yield lambda name: replace(ep, dsn=fresh_database(ep.dsn, name))
        finally:
            provider.stop("bench-explain")
        return
    from btb.infra.postgres import LocalPostgres, find_pg_bin

    port = free_port()
    pg = LocalPostgres(data_dir=tmp / f"pg-{port}", port=port, bin_dir=find_pg_bin())
    endpoint = pg.start(slot_name=f"btb-explain-{port}")
    admin = pg.dsn.replace(f"dbname={pg.dbname}", "dbname=postgres")

    def fresh(name: str):
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'drop database if exists "{name}" with (force)')
            c.execute(f'create database "{name}"')
        return replace(endpoint, dsn=pg.dsn.replace(f"dbname={pg.dbname}", f"dbname={name}"))

    try:
        yield fresh
    finally:
        pg.destroy()


def examined(node: dict) -> int:
    """Rows a plan node and its children looked at: output + removed by filters, times loops."""
    loops = node.get("Actual Loops", 1) or 0
    own = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
           + node.get("Rows Removed by Join Filter", 0) + node.get("Rows Removed by Index Recheck", 0))
    return int(round(own * loops)) + sum(examined(c) for c in node.get("Plans", ()))


def bind(params: dict, day0: datetime) -> dict:
    out = dict(params)
    if "start" in out:
        out["start"], out["end"] = day0, day0 + timedelta(days=1)
    elif "end" in out:
        out["end"] = day0 + timedelta(days=1)
    return out


def must_read(ds: Path) -> dict[str, tuple[int, int]]:
    """Per query: (samples the oracle reads for the same bindings and windows, structure rows (nodes +
    edges) once per binding)."""
    from btb.dataset import oracle, oracle_scan

    m = Manifest.read(ds)
    day0 = datetime.fromisoformat(m.start.replace("Z", "+00:00")).astimezone(timezone.utc)
    real = oracle_scan.scan_day
    seen = [0]

    def counting(d, day, idxs):
        for batch in real(d, day, idxs):
            seen[0] += len(batch[0])
            yield batch

    oracle_scan.scan_day = counting
    try:
        out = {}
        for qid, bs in load_bindings(ds).items():
            seen[0] = 0
            for params in bs:
                p = {k: (v.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(v, datetime) else v)
                     for k, v in bind(params, day0).items()}
                oracle.answer(ds, qid, p)
            out[qid] = (seen[0], len(bs) * (m.counts["nodes"] + m.counts["edges"]))
        return out
    finally:
        oracle_scan.scan_day = real


def measure(dsn: str, sid: str, ds: Path) -> dict[str, dict]:
    m = Manifest.read(ds)
    day0 = datetime.fromisoformat(m.start.replace("Z", "+00:00")).astimezone(timezone.utc)
    texts = query_texts(sid)
    bindings = load_bindings(ds)
    out: dict[str, dict] = {}
    with psycopg.connect(dsn, autocommit=True, options="-c timezone=UTC") as conn:
        for qid in QUERY_IDS:
            rows = buffers = answer = 0
            for params in bindings[qid]:
                p = bind(params, day0)
                plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + texts[qid], p).fetchone()[0]
                top = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
                rows += examined(top)
                buffers += top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
                answer += len(conn.execute(texts[qid], p).fetchall())
            out[qid] = {"rows": rows, "buffers": buffers, "answer": answer, "bindings": len(bindings[qid])}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", default="tiny-1d")
    ap.add_argument("--large", default="small-1d")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scenarios", default="P1,P2")
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "btb-explain-datasets")
    args = ap.parse_args()
    sids = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    dss = {prof: ensure_dataset(prof, args.seed, args.root) for prof in (args.small, args.large)}
    data = {}
    for prof, ds in dss.items():
        c = Manifest.read(ds).counts
        data[prof] = c["nodes"] + c["edges"] + c["samples"]
    ratio = data[args.large] / data[args.small]
    need = {prof: must_read(ds) for prof, ds in dss.items()}
    res: dict[tuple[str, str], dict] = {}
    with tempfile.TemporaryDirectory(prefix="btb-explain-") as tmp:
        Path(tmp).chmod(0o755)  # the server runs as 'postgres' when we are root
        with scratch_postgres(Path(tmp)) as fresh:
            for sid in sids:
                cls = scenario_class(sid)
                for prof, ds in dss.items():
                    ep = fresh(f"explain_{sid.lower()}_{prof.replace('-', '_')}")
                    sc = cls({"postgres": ep}, RunOptions(timeout_s=600))
                    try:
                        sc.ingest(ds)
                    finally:
                        sc.close()
                    res[(sid, prof)] = measure(ep.dsn, sid, ds)
    print(f"stored rows (nodes + edges + samples): {args.small} {data[args.small]:,}, {args.large} "
          f"{data[args.large]:,} (ratio {ratio:.1f}); per query, 'data ratio' = ratio of what the query must read")
    print(f"{'scenario':8} {'query':5} {'rows ' + args.small:>14} {'rows ' + args.large:>14} {'ratio':>7} "
          f"{'data ratio':>10} {'ratio/data':>10} {'buffers ratio':>13} {'answer rows':>14}  verdict")
    worst = 0.0
    for sid in sids:
        for qid in QUERY_IDS:
            a, b = res[(sid, args.small)][qid], res[(sid, args.large)][qid]
            (sa, na), (sb, nb) = need[args.small][qid], need[args.large][qid]
            answers = b["answer"] / max(1, a["answer"])
            dr = max(nb / max(1, na), sb / sa if sa else 0.0, answers)
            r = b["rows"] / max(1, a["rows"])
            rb = b["buffers"] / max(1, a["buffers"])
            worst = max(worst, r / dr)
            verdict = "ok" if r <= LIMIT * dr else "TOO MANY ROWS"
            print(f"{sid:8} {qid:5} {a['rows']:>14,} {b['rows']:>14,} {r:>7.1f} {dr:>10.1f} {r / dr:>10.2f} {rb:>13.1f} "
                  f"{a['answer']:>6,}/{b['answer']:<7,}  {verdict}")
    print(f"worst rows ratio / data ratio: {worst:.2f} (limit {LIMIT})")
    sys.exit(0 if worst <= LIMIT else 1)


if __name__ == "__main__":
    main()
