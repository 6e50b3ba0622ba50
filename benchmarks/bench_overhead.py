"""Harness overhead: the same point query through a raw psycopg loop and through `Scenario.run`, on the
same server, the same database, the same connection settings, in the same run, interleaved.

    python benchmarks/bench_overhead.py --profile tiny-1d --queries Q3 Q6 --rounds 60 --block 20

The raw side times `execute(...).fetchall()` with the same query text and driver parameters (no
server-side prepare: prepare=never) on the *scenario's own session* (autocommit; timezone and
statement_timeout as libpq connect options), so both sides talk to the same backend process. A second
raw session opened with identical settings is timed too, for information: on a 2-core machine two
sessions of identical settings differ by tens of µs (where the kernel places the backend relative to
the client), which is noise of the connection, not harness overhead. The btb side is timed twice:
`QueryOutcome.seconds` (what btb records) and the wall time around the whole `run()` call (what the
harness costs the machine per query, untimed parts included). Blocks rotate so drift hits every side
alike. The overhead is the median over rounds of (btb block median - raw block median), paired per round
so that load drift on a shared machine cancels, with its interquartile range; global medians are shown
too. Target (issue 13): recorded overhead <= 5 % or <= 20 µs per query.

    python benchmarks/bench_overhead.py --engine duckdb --queries Q3 Q6

DuckDB (D1) runs in an engine host process (btb/infra/engines/duckdb), so its harness cost is the host's round
trip. The raw side is DuckDB *in this process* (what a user embedding it would run): the trivial statement
`SELECT $a` on an in-memory database, and each query's D1 statement and parameters on a copy of the host's
loaded database file opened here with the host's settings. The btb sides are the same statement through the
host's socket (`HostClient.query`) and `Scenario.run` of D1 (recorded and wall). Overhead: the median over
rounds of (btb block median - in-process block median), as above. Target (issue 29): <= 20 µs per query.
Two more sides on the trivial statement say where a difference comes from: `no-op` is the protocol alone (a
request DuckDB never sees), `paced` is in-process DuckDB timed right after the calling thread waited for a
socket round trip (untimed): DuckDB runs slower after its thread slept (caches and predictors cold on a shared
core, ~+50-100 µs on this 2-core machine even in-process), which the host, asleep in its socket read between
requests, always pays and a tight in-process loop never does; host - paced is what the hosting itself adds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import psycopg

from btb.engines.base import RunOptions
from btb.engines.postgres.relational import RelationalScenario
from btb.engines.postgres.scenario import bind, query_texts
from btb.infra.local import LocalProvider
from btb.dataset.format import load_bindings


def raw_session(dsn: str, timeout_s: float) -> psycopg.Connection:
    """The connection a careful hand-written client would open: the scenario's settings, nothing more."""
    c = psycopg.connect(dsn, autocommit=True, options=f"-c timezone=UTC -c statement_timeout={int(timeout_s * 1000)}",
                        connect_timeout=10)
    c.prepare_threshold = None
    return c


def raw_block(conn: psycopg.Connection, text: str, args: dict, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.execute(text, args, prepare=False).fetchall()
        out.append(time.perf_counter() - t0)
    return out


def btb_block(scenario, qid: str, params: dict, n: int) -> tuple[list[float], list[float]]:
    recorded, wall = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        out = scenario.run(qid, params)
        wall.append(time.perf_counter() - t0)
        assert out.status == "ok", out
        recorded.append(out.seconds)
    return recorded, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="tiny-1d")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dataset", type=Path, help="an existing generated dataset dir (else generated)")
    ap.add_argument("--queries", nargs="+", default=["Q3", "Q6"])
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--block", type=int, default=20)
    ap.add_argument("--engine", choices=("postgres", "duckdb"), default="postgres")
    args = ap.parse_args()
    if args.engine == "duckdb":
        return duckdb_main(args)

    work = Path(tempfile.mkdtemp(prefix="btb-bench-overhead-"))
    work.chmod(0o755)
    provider = LocalProvider(work / "engines", "bench")
    trial = "bench-overhead"
    try:
        dataset = args.dataset
        if dataset is None:
            from btb.dataset.generator import generate

            dataset = work / args.profile
            generate(args.profile, args.seed, dataset)
        started = provider.start(trial, ("postgres",), None)
        ep = started.endpoints["postgres"]
        opts = RunOptions(timeout_s=60, prepare="never")
        scenario = RelationalScenario({"postgres": ep}, opts)
        scenario.ingest(dataset)
        texts = query_texts("P1")
        bindings = load_bindings(dataset)
        other = raw_session(ep.dsn, opts.timeout_s)
        print(f"{ep.version}; dataset {dataset.name}; {args.rounds} rounds x {args.block} queries per side, rotated")
        print(f"{'query':6} {'raw p50':>9} {'btb rec p50':>12} {'btb wall p50':>13} {'recorded overhead':>19} "
              f"{'(IQR over rounds)':>19} {'wall overhead':>19}  target   {'raw, 2nd session':>16}")
        for qid in args.queries:
            params = bindings[qid][0]
            args_raw = bind(params)
            btb_block(scenario, qid, params, args.block)  # warm the session and the caches
            conn = scenario.conn()  # the very session run() uses
            raw_block(conn, texts[qid], args_raw, args.block)
            raw_block(other, texts[qid], args_raw, args.block)
            raw: list[float] = []
            raw2: list[float] = []
            rec: list[float] = []
            wall: list[float] = []
            d_rec_r: list[float] = []  # per round: median(btb recorded) - median(raw)
            d_wall_r: list[float] = []
            sides = ["raw", "btb", "raw2"]
            for r in range(args.rounds):
                for side in sides[r % 3:] + sides[:r % 3]:
                    if side == "raw":
                        rb = raw_block(conn, texts[qid], args_raw, args.block)
                        raw += rb
                    elif side == "raw2":
                        raw2 += raw_block(other, texts[qid], args_raw, args.block)
                    else:
                        a, b = btb_block(scenario, qid, params, args.block)
                        rec += a
                        wall += b
                d_rec_r.append(statistics.median(a) - statistics.median(rb))
                d_wall_r.append(statistics.median(b) - statistics.median(rb))
            m_raw, m_rec, m_wall, m_raw2 = (statistics.median(x) * 1e6 for x in (raw, rec, wall, raw2))
            d_rec, d_wall = statistics.median(d_rec_r) * 1e6, statistics.median(d_wall_r) * 1e6
            q1, _, q3 = (x * 1e6 for x in statistics.quantiles(d_rec_r, n=4))
            ok = d_rec <= 20 or d_rec <= 0.05 * m_raw
            print(f"{qid:6} {m_raw:7.1f}µs {m_rec:10.1f}µs {m_wall:11.1f}µs {d_rec:+7.1f}µs ({d_rec / m_raw:+6.1%}) "
                  f"{f'[{q1:+.1f}, {q3:+.1f}]µs':>19} {d_wall:+7.1f}µs ({d_wall / m_raw:+6.1%})  "
                  f"{'met   ' if ok else 'MISSED'}   {m_raw2:14.1f}µs")
        other.close()
        scenario.close()
    finally:
        provider.stop(trial)
        shutil.rmtree(work, ignore_errors=True)


def _rotated(sides: dict, rounds: int, block: int) -> dict[str, list[float]]:
    """Per side, each round's block median (sides rotate so drift hits them alike)."""
    names = list(sides)
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for n in names[r % len(names):] + names[:r % len(names)]:
            out[n].append(statistics.median(sides[n](block)))
    return out


def _timed_loop(fn: Callable[[], object]) -> Callable[[int], list[float]]:
    def block(n: int) -> list[float]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return out
    return block


def _paced(host, fn: Callable[[], object]) -> Callable[[int], list[float]]:
    """In-process DuckDB timed right after this thread waited for a no-op round trip to the host (untimed): the
    state the host's DuckDB runs in (its process just woke from a socket read), without the protocol."""
    def block(n: int) -> list[float]:
        out = []
        for _ in range(n):
            host.configure()
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return out
    return block


def _report(label: str, med: dict[str, list[float]], base: str) -> None:
    b = statistics.median(med[base]) * 1e6
    cells = []
    for side, xs in med.items():
        if side == base:
            continue
        d = statistics.median([x - y for x, y in zip(xs, med[base])]) * 1e6
        q1, _, q3 = (v * 1e6 for v in statistics.quantiles([x - y for x, y in zip(xs, med[base])], n=4))
        cells.append(f"{side} {statistics.median(xs) * 1e6:8.1f}µs ({d:+6.1f}µs [{q1:+.1f}, {q3:+.1f}] "
                     f"{'met' if d <= 20 else 'MISSED'})")
    print(f"{label:9} {base} {b:8.1f}µs | " + " | ".join(cells))


def duckdb_main(args) -> None:
    import duckdb

    from btb.engines.duckdb.scenario import DuckFileScenario
    from btb.engines.duckdb.client import HostClient

    work = Path(tempfile.mkdtemp(prefix="btb-bench-overhead-duck-"))
    work.chmod(0o755)
    provider = LocalProvider(work / "engines", "bench")
    trial = "bench-overhead-duck"
    try:
        dataset = args.dataset
        if dataset is None:
            from btb.dataset.generator import generate

            dataset = work / args.profile
            generate(args.profile, args.seed, dataset)
        ep = provider.start(trial, ("duckdb",), None).endpoints["duckdb"]
        scenario = DuckFileScenario({"duckdb": ep}, RunOptions(timeout_s=60))
        scenario.ingest(dataset)
        shutil.copy(ep.extra["database"], work / "inproc.duckdb")  # checkpointed by the ingest: a consistent copy
        settings = {k: v for k, v in ep.extra["tuning"]["requested"].items() if k != "temp_directory"}
        local = duckdb.connect(str(work / "inproc.duckdb"), config=settings)
        mem = duckdb.connect(config=settings)
        host = HostClient(ep.dsn, ep.extra["authkey_file"])
        bindings = load_bindings(dataset)
        print(f"{ep.version} in its engine host (settings {ep.extra['settings']}); in-process duckdb "
              f"{duckdb.__version__}; {args.rounds} rounds x {args.block} per side, rotated; overhead = paired "
              "median of (side - in-process) [IQR over rounds]; target <= 20 µs")
        trivial = {"in-process": _timed_loop(lambda: mem.execute("SELECT $a", {"a": 1}).fetchall()),
                   "paced": _paced(host, lambda: mem.execute("SELECT $a", {"a": 1}).fetchall()),
                   "host": _timed_loop(lambda: host.query("SELECT $a", {"a": 1})),
                   "no-op": _timed_loop(host.configure)}
        _rotated(trivial, 2, args.block)  # warm
        med = _rotated(trivial, args.rounds, args.block)
        _report("SELECT $a", med, "in-process")
        _report("SELECT $a", {k: med[k] for k in ("paced", "host")}, "paced")
        for qid in args.queries:
            params = bindings[qid][0]
            text, bound = scenario.bind(qid, params)
            rec: list[float] = []

            def run(rec=rec, qid=qid, params=params):
                out = scenario.run(qid, params)
                assert out.status == "ok", out
                rec.append(out.seconds)

            def recorded(n: int, run=run, rec=rec) -> list[float]:
                del rec[:]
                for _ in range(n):
                    run()
                return list(rec)

            sides = {"in-process": _timed_loop(lambda t=text, b=bound: local.execute(t, b).fetchall()),
                     "host": _timed_loop(lambda t=text, b=bound: host.query(t, b)),
                     "run() recorded": recorded, "run() wall": _timed_loop(run)}
            _rotated(sides, 2, args.block)
            _report(qid, _rotated(sides, args.rounds, args.block), "in-process")
        host.close()
        scenario.close()
    finally:
        provider.stop(trial)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
