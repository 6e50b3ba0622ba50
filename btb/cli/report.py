"""`btb report` and `btb compare`: a campaign's results as files and tables (logic in btb.results)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from btb.cli.common import console, fail, ledger_campaign


def report(campaign_id: Optional[str] = typer.Argument(None, help="campaign id (default: the latest)"),
           out: Optional[Path] = typer.Option(None, help="output dir (default: <output_dir>/<campaign id>)"),
           from_dir: Optional[Path] = typer.Option(None, "--from", help="rebuild from a results directory written "
                                                   "before (no Redis needed)")) -> None:
    """Write a campaign's results: report.html (plots, tables, self-checks), records/samples Parquet, CSVs."""
    from btb.results.checks import run_checks
    from btb.results.files import Bundle, BundleError, load_bundle, write_bundle
    from btb.results.html import write_html
    from btb.results.report import print_checks, print_summary

    if from_dir is not None:
        if campaign_id:
            fail("give a campaign id or --from DIR, not both")
        try:
            bundle = load_bundle(from_dir)
        except BundleError as e:
            fail(str(e))
        out_dir = out or from_dir
        paths = write_bundle(out_dir, bundle) if out else []
    else:
        from btb.campaign_load import output_dir_problem
        from btb.results.aggregate import aggregate_campaign, load_campaign_data

        ledger, board, cid, camp = ledger_campaign(campaign_id)
        summary = aggregate_campaign(ledger, board, cid)
        data = load_campaign_data(ledger, board, cid)
        bundle = Bundle(camp, data.trials, data.records, data.samples, summary)
        if out is None:
            od = camp["spec"].get("output_dir", "results")
            why = output_dir_problem(od)
            if why:
                fail(f"output_dir of campaign {cid}: {why}; give --out DIR")
            out = Path(od) / cid
        out_dir = out
        if out_dir.exists() and not out_dir.is_dir():
            fail(f"--out: {out_dir} exists and is not a directory")
        paths = write_bundle(out_dir, bundle)
    checks = run_checks(bundle)
    paths.append(write_html(out_dir / "report.html", bundle, checks))
    print_checks(checks, console)
    print_summary(bundle.summary, console)
    if bundle.summary.get("status") != "done":
        console.print("campaign still running: this report is partial", style="yellow", markup=False)
    for p in paths:
        console.print(f"wrote {p}", markup=False, highlight=False)


def _bundle_of(ref: str):
    """A results directory (no Redis needed) or a campaign id in the ledger → Bundle."""
    from btb.results.files import Bundle, BundleError, load_bundle

    p = Path(ref)
    if p.exists():
        try:
            return load_bundle(p)
        except BundleError as e:
            fail(str(e))
    from btb.results.aggregate import aggregate_campaign, load_campaign_data

    ledger, board, cid, camp = ledger_campaign(ref)
    data = load_campaign_data(ledger, board, cid)
    return Bundle(camp, data.trials, data.records, data.samples, aggregate_campaign(ledger, board, cid))


def compare(a: str = typer.Argument(..., help="campaign A: a results directory or a campaign id"),
            b: str = typer.Argument(..., help="campaign B: a results directory or a campaign id"),
            csv_out: Optional[Path] = typer.Option(None, "--csv", help="also write the comparison as CSV"),
            only_changed: bool = typer.Option(False, help="show only rows whose verdict is faster or slower")) -> None:
    """Two campaigns side by side: p50 of each per (dataset, scenario, level, query), ratio B/A, and a verdict
    that calls a change only when the medians' 95% confidence intervals do not overlap."""
    import csv

    from rich.text import Text

    from btb.results.compare import compare as cmp_rows, geomean_ratio

    ba, bb = _bundle_of(a), _bundle_of(b)
    rows = cmp_rows(ba, bb)
    t = Table(title=f"A = {ba.cid}   B = {bb.cid}")
    for col in ("dataset", "scenario", "level", "query", "A p50 ms", "B p50 ms", "B/A", "verdict"):
        t.add_column(col, justify="right" if "ms" in col or col == "B/A" else "left")
    for r in rows:
        if only_changed and r["verdict"] not in ("faster", "slower"):
            continue
        style = {"faster": "green", "slower": "red"}.get(r["verdict"])
        f = (lambda v: "—" if v is None else f"{v:.3g}")
        t.add_row(*[Text(str(x)) for x in (r["dataset"], r["scenario"], r["level"], r["query"], f(r["a_p50_ms"]),
                                            f(r["b_p50_ms"]), f(r["ratio_b_over_a"]), r["verdict"])], style=style)
    console.print(t)
    g = geomean_ratio(rows)
    n = {v: sum(r["verdict"] == v for r in rows) for v in ("faster", "slower")}
    console.print(f"{len(rows)} row(s): B faster in {n['faster']}, slower in {n['slower']}"
                  + (f"; geometric mean of B/A {g:.3f}" if g else ""), markup=False)
    if csv_out:
        with csv_out.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["dataset"])
            w.writeheader()
            w.writerows(rows)
        console.print(f"wrote {csv_out}", markup=False, highlight=False)
