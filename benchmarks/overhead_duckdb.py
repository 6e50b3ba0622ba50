"""The DuckDB engine host's harness overhead (`python benchmarks/bench_overhead.py --engine duckdb`).

D1 runs DuckDB in an engine host process (btb/infra/engines/duckdb/host.py) reached over a unix socket, only so
that the trial's budget binds DuckDB and not btb. An application embedding DuckDB waits for `execute` +
`fetchall` (Python rows) and nothing else, so that is D1's timed window: timed inside the host and recorded
(`Answer.seconds`, `Scenario.run`); the round trip around it (pickling both ways, the socket, two wake-ups) is
harness, kept beside each run (`notes.host_round_trip_s`, summary.csv `host_round_trip_p50_ms`), outside the
recorded figure. Definitions (all per query, medians):

  engine     the seconds DuckDB's own calls (`execute` of the parsed statement + `fetchall`) took inside the
             host, measured there and returned with the reply (`HostClient.engine_s`): what D1 records
  overhead   engine - DuckDB in *this* process making the same calls (execute of the same parsed statement +
             fetchall) on the same data and settings in a tight loop, paired per round: what running DuckDB in
             a host adds to the *recorded* figure. Target (issue 29): <= 20 µs on a 1-row result.
  paced      those in-process calls, each timed right after an untimed no-op round trip to the host (this
             process slept meanwhile, as the host does between requests): `engine - paced` is the host's part
             once DuckDB in both processes runs after a wait
  round trip what the client waits for (`HostClient.query`): `round trip - engine` is the process boundary's
             cost, outside the recorded window (the machine pays it; the figure does not hold it)
  text       in-process, the text parsed at every call (what keeping it parsed earns, DuckDB's side alone)
  run()      for D1's queries, what `Scenario.run` records: equal to engine by construction, shown as the check

host-glibc (--glibc-host)  a second host on the same data started with glibc's default malloc
             (BTB_DUCKDB_MALLOC=glibc), its own side in the rotation: the allocator's part, before/after in one
             run. The in-process side runs with the host's allocator (this process re-executes itself with the
             host's GLIBC_TUNABLES; --inproc-malloc glibc keeps glibc's defaults there).

The host is started under --budget-mib (default unlimited: threads = the node's cores; a level below ~200 MiB
gives DuckDB one thread, as every trial at such a level runs), so both thread counts can be measured.

Statements: `SELECT $a` (1 row), a generated result of --rows rows (int, double, varchar columns: the shapes
D1's answers carry; default 1 and 1000 rows), and each --queries statement of D1 with its first binding, on
a copy of the host's loaded database opened here with the host's settings. `no-op` is the protocol alone (a
request DuckDB never sees). Sides rotate per round so drift hits each alike; a side's figure is the median of
its round medians, a difference the median over rounds of the paired round medians, [IQR over rounds].
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import sys
import time
from pathlib import Path
from typing import Callable

from btb.dataset.format import load_bindings
from btb.engines.base import RunOptions
from btb.infra.local import LocalProvider

TARGET_US = 20.0
Block = Callable[[int], list[float]]


def _rotated(sides: dict[str, Block], rounds: int, block: int,
             engines: dict[str, Block] | None = None) -> dict[str, list[list[float]]]:
    """Per side, each round's timings (sides rotate so drift hits them alike); `engines[h]` is read right after
    each block of host side h (the engine seconds of its queries), as side "engine h"."""
    names = list(sides)
    engines = engines or {}
    out: dict[str, list[list[float]]] = {n: [] for n in (*names, *(f"engine {h}" for h in engines))}
    for r in range(rounds):
        for n in names[r % len(names):] + names[:r % len(names)]:
            out[n].append(sides[n](block))
            if n in engines:
                out[f"engine {n}"].append(engines[n](block))
    return out


def _loop(fn: Callable[[], object], before: Callable[[], object] | None = None) -> Block:
    def block(n: int) -> list[float]:
        out = []
        for _ in range(n):
            if before is not None:
                before()  # untimed
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return out
    return block


def _host_block(host, sql: str, params) -> tuple[Block, Block]:
    """(round trip, engine) blocks of one run: each query's round trip and the engine_s its reply carried."""
    last: list[float] = []

    def rtt(n: int) -> list[float]:
        out = []
        del last[:]
        for _ in range(n):
            t0 = time.perf_counter()
            host.query(sql, params)
            dt = time.perf_counter() - t0
            out.append(dt)
            last.append(host.engine_s)
        return out

    return rtt, lambda _n: list(last)


def _med_us(rounds: list[list[float]]) -> float:
    return statistics.median(statistics.median(r) for r in rounds) * 1e6


def _paired(a: list[list[float]], b: list[list[float]]) -> tuple[float, float, float]:
    """Median over rounds of (median a - median b), with its quartiles, µs."""
    d = [statistics.median(x) - statistics.median(y) for x, y in zip(a, b)]
    q1, q2, q3 = statistics.quantiles(d, n=4) if len(d) > 1 else (d[0],) * 3
    return statistics.median(d) * 1e6, q1 * 1e6, q3 * 1e6


def _per_call(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    return [[x - y for x, y in zip(ra, rb)] for ra, rb in zip(a, b)]


def measure(label: str, hosts: dict, inproc, sql: str, params, rows: int, rounds: int, block: int,
            run: Block | None = None) -> dict[str, float]:
    """One statement's sides, rotated (every host of `hosts` a side); prints a line per host, returns its
    figures (µs)."""
    stmt = inproc.extract_statements(sql)[0]
    first = next(iter(hosts.values()))
    sides: dict[str, Block] = {
        "in-process": _loop(lambda: inproc.execute(stmt, params).fetchall()),
        "text": _loop(lambda: inproc.execute(sql, params).fetchall()),
        "paced": _loop(lambda: inproc.execute(stmt, params).fetchall(), before=first.configure)}
    engines: dict[str, Block] = {}
    for name, host in hosts.items():
        sides[name], engines[name] = _host_block(host, sql, params)
    if run is not None:
        sides["run()"] = run
    _rotated(sides, 2, block, engines)  # warm
    med = _rotated(sides, rounds, block, engines)
    p, _, _ = _paired(med["paced"], med["in-process"])
    tx, _, _ = _paired(med["text"], med["in-process"])
    out = {"in-process": _med_us(med["in-process"]), "paced": _med_us(med["paced"])}
    for i, name in enumerate(hosts):
        over = _per_call(med[name], med[f"engine {name}"])
        b, _, _ = _paired(over, [[0.0] * len(r) for r in over])
        o, oq1, oq3 = _paired(med[f"engine {name}"], med["in-process"])
        ep, _, _ = _paired(med[f"engine {name}"], med["paced"])
        h, en = _med_us(med[name]), _med_us(med[f"engine {name}"])
        out.update({name: h, f"engine {name}": en, f"overhead {name}": o, f"vs_paced {name}": ep,
                    f"boundary {name}": b})
        extra = ""
        if "run()" in med and i == 0:
            out["run()"] = _med_us(med["run()"])
            extra = f" | run() recorded {out['run()']:8.1f}"
        head = (f"{label:12} {rows:>6} | in-process {out['in-process']:8.1f} (text {tx:+6.1f}) paced {out['paced']:8.1f} "
                f"({p:+6.1f})" if i == 0 else f"{'':12} {'':>6} | {'':>51}")
        print(f"{head} | {name:10} engine (recorded) {en:8.1f}{extra} | overhead {o:+7.1f} [{oq1:+.1f}, {oq3:+.1f}] "
              f"{'met' if o <= TARGET_US else 'MISSED'} ({ep:+.1f} vs paced) | outside the window: round trip "
              f"{h:8.1f} ({b:+.1f} over engine)", flush=True)
    return out


def _start_host(provider, trial: str, budget, dataset: Path, malloc: str):
    """A D1 host started with allocator `malloc` (settings.malloc_env), the dataset loaded: (endpoint, scenario)."""
    from btb.engines.duckdb.scenario import DuckFileScenario

    old = os.environ.get("BTB_DUCKDB_MALLOC")
    os.environ["BTB_DUCKDB_MALLOC"] = malloc
    try:
        ep = provider.start(trial, ("duckdb",), budget).endpoints["duckdb"]
    finally:
        os.environ.pop("BTB_DUCKDB_MALLOC") if old is None else os.environ.__setitem__("BTB_DUCKDB_MALLOC", old)
    scenario = DuckFileScenario({"duckdb": ep}, RunOptions(timeout_s=60))
    scenario.ingest(dataset)
    return ep, scenario


def _reexec_with_malloc(args) -> None:
    """Run this process (the in-process side) with the host's allocator, so both sides allocate alike."""
    from btb.infra.engines.duckdb.settings import malloc_env

    want = malloc_env(args.inproc_malloc).get("GLIBC_TUNABLES", "")
    if os.environ.get("GLIBC_TUNABLES", "") != want:
        env = {**os.environ, "GLIBC_TUNABLES": want}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


def _d1_queries(args, hosts: dict, scenario, local, dataset: Path) -> None:
    bindings = load_bindings(dataset)
    for qid in args.queries:
        params = bindings[qid][0]
        text, bound = scenario.bind(qid, params)
        nrows = len(local.execute(text, bound).fetchall())

        def recorded(n: int, qid=qid, params=params) -> list[float]:
            rec = []
            for _ in range(n):
                out = scenario.run(qid, params)
                assert out.status == "ok", out
                rec.append(out.seconds)
            return rec

        measure(f"D1 {qid}", hosts, local, text, bound, nrows, args.rounds, args.block, run=recorded)


def main(args) -> None:
    _reexec_with_malloc(args)
    import duckdb

    from btb.engines.duckdb.client import HostClient

    work = Path(tempfile.mkdtemp(prefix="btb-bench-overhead-duck-"))
    work.chmod(0o755)
    provider = LocalProvider(work / "engines", "bench")
    trials = {"host": "bench-overhead-duck", "host-glibc": "bench-overhead-duck-glibc"}
    try:
        dataset = args.dataset
        if dataset is None:
            from btb.dataset.generator import generate

            dataset = work / args.profile
            generate(args.profile, args.seed, dataset)
        budget = args.budget_mib << 20 if args.budget_mib else None
        ep, scenario = _start_host(provider, trials["host"], budget, dataset, "tuned")
        hosts = {"host": HostClient(ep.dsn, ep.extra["authkey_file"])}
        if args.glibc_host:
            ep2, scenario2 = _start_host(provider, trials["host-glibc"], budget, dataset, "glibc")
            scenario2.close()
            hosts["host-glibc"] = HostClient(ep2.dsn, ep2.extra["authkey_file"])
        shutil.copy(ep.extra["database"], work / "inproc.duckdb")  # checkpointed by the ingest: a consistent copy
        settings = {k: v for k, v in ep.extra["tuning"]["requested"].items() if k != "temp_directory"}
        local = duckdb.connect(str(work / "inproc.duckdb"), config=settings)
        mem = duckdb.connect(config=settings)
        print(f"{ep.version} in its engine host, budget {args.budget_mib or 'unlimited'} MiB (settings "
              f"{ {k: v for k, v in ep.extra['settings'].items() if k != 'temp_directory'} }); hosts: "
              f"{', '.join(hosts)} (host: tcache-sized malloc, host-glibc: glibc's defaults); in-process duckdb "
              f"{duckdb.__version__} with the host's settings, GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES')!r}; "
              f"{args.rounds} rounds x {args.block} per side, rotated; µs; overhead = engine (recorded) - in-process, "
              f"paired per round, target <= {TARGET_US:g} µs")
        for name, host in hosts.items():
            noop = _rotated({"no-op": _loop(host.configure)}, args.rounds, args.block)["no-op"]
            print(f"{'no-op':12} {'':>6} | {name}: protocol alone (a request DuckDB never sees): round trip "
                  f"{_med_us(noop):.1f}")
        measure("SELECT $a", hosts, mem, "SELECT $a", {"a": 1}, 1, args.rounds, args.block)
        for n in args.rows:
            sql = "SELECT i, i * 0.5 AS v, 'point-' || i AS id FROM range($n) t(i)"
            measure("range", hosts, mem, sql, {"n": n}, n, args.rounds, args.block)
        _d1_queries(args, hosts, scenario, local, dataset)
        for host in hosts.values():
            host.close()
        scenario.close()
    finally:
        for trial in trials.values():
            provider.stop(trial)
        shutil.rmtree(work, ignore_errors=True)
