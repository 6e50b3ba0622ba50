"""Did a change of query texts make a scenario slower? The statements a scenario runs today against the ones
it ran at a git revision (`--against REV`), on the same server, the same data, the same session, in one run.

  P1, P2   Q6–Q13 by default: today their structure part as the CTE `fed` + the shared series SQL
           (`btb.engines.series_sql`); up to revision f584b20, whole statements of their own
  O1, O2   Q1–Q5 by default: the SPARQL structure queries (`queries/sparql/`), sent as they are

Per query, every binding of the dataset is run with both texts alternately (which goes first alternates too),
warm, `--reps` times; the answers of both texts are checked equal (canonical form, the oracle's tolerance) at
every binding. Printed: the median over bindings of each text's median latency, and their ratio (now / then).

    python benchmarks/bench_query_texts.py --against REV [--dataset DIR] [--scenarios P1,P2] [--queries Q7,Q11]
                                           [--reps 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from btb.dataset.answers import canonical_for, same_answer_for
from btb.dataset.format import load_bindings
from btb.engines.postgres.scenario import query_texts
from btb.engines.querytexts import load_queries
from side_by_side import alternating, each_ingested

SQL = ("P1", "P2")
DEFAULT_QUERIES = {"P1": [f"Q{i}" for i in range(6, 14)], "P2": [f"Q{i}" for i in range(6, 14)],
                   "O1": [f"Q{i}" for i in range(1, 6)], "O2": [f"Q{i}" for i in range(1, 6)]}


def folder(sid: str) -> str:
    return sid if sid in SQL else "sparql"


def texts_at(rev: str, sid: str) -> dict[str, str]:
    """{qid: text} of the scenario's query folder at a git revision (the statements as they were then)."""
    root = Path(__file__).resolve().parents[1]
    d = f"queries/{folder(sid)}"
    names = subprocess.run(["git", "ls-tree", "--name-only", f"{rev}:{d}"], cwd=root, check=True,
                           capture_output=True, text=True).stdout.split()
    return {name.split("_")[0].split(".")[0]: subprocess.run(["git", "show", f"{rev}:{d}/{name}"], cwd=root,
                                                             check=True, capture_output=True, text=True).stdout
            for name in names if name.startswith("Q")}


def texts_now(sid: str) -> dict[str, str]:
    return query_texts(sid) if sid in SQL else load_queries("sparql", ".sparql")


def timed(s, sid: str, qid: str, text: str, params: dict) -> tuple[list, float]:
    """One execution of `text` for a binding, bound as the scenario binds (outside the timing)."""
    if sid in SQL:
        bound = s.bind(qid, params)
        t0 = time.perf_counter()
        rows = s.conn().execute(text, bound, prepare=False).fetchall()
    else:
        s._texts[qid] = text  # SparqlScenario.bind writes the text with its terms into "_text"
        bound = s.bind(qid, params)["_text"]
        t0 = time.perf_counter()
        rows = s.sparql(bound)
    return rows, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--against", required=True, help="git revision whose texts to compare with")
    ap.add_argument("--dataset", type=Path, default=Path.home() / ".local/state/btb/datasets/small-2d-s1")
    ap.add_argument("--scenarios", default="P1,P2")
    ap.add_argument("--queries", default=None, help="comma-separated (default: P1/P2 Q6-Q13, O1/O2 Q1-Q5)")
    ap.add_argument("--reps", type=int, default=15)
    a = ap.parse_args()
    bindings = load_bindings(a.dataset)
    load0 = Path("/proc/loadavg").read_text().strip()
    rows_out = []
    for sid, s in each_ingested(a.dataset, a.scenarios.split(","), "benchtexts"):
        texts = {"then": texts_at(a.against, sid), "now": texts_now(sid)}
        for qid in (a.queries.split(",") if a.queries else DEFAULT_QUERIES[sid]):
            med: dict[str, list[float]] = {"then": [], "now": []}
            for params in bindings[qid]:
                answers: dict[str, list] = {}

                def once(version: str) -> float:
                    rows, sec = timed(s, sid, qid, texts[version][qid], params)
                    answers[version] = canonical_for(qid, rows)
                    other = answers.get("now" if version == "then" else "then")
                    if other is not None:
                        ok, diff = same_answer_for(qid, other, answers[version])
                        assert ok, f"{sid} {qid} {params}: answers differ\n{diff}"
                    return sec

                for version, sec in alternating(("then", "now"), once, a.reps).items():
                    med[version].append(sec)
            rows_out.append((sid, qid, len(bindings[qid]), statistics.median(med["then"]) * 1000,
                             statistics.median(med["now"]) * 1000))
    load1 = Path("/proc/loadavg").read_text().strip()
    print(f"dataset {a.dataset.name}; texts now vs {a.against}; median over bindings of each binding's median of "
          f"{a.reps} warm runs, ms; answers equal at every binding; load before: {load0}; after: {load1}")
    print(f"{'':>4} {'query':>5} {'bindings':>8} {'then':>9} {'now':>9} {'now/then':>9}")
    for sid, qid, n, t0, t1 in rows_out:
        print(f"{sid:>4} {qid:>5} {n:>8} {t0:>9.2f} {t1:>9.2f} {t1 / t0:>8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
