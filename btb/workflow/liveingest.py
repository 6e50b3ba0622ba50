"""Live ingest beside a trial's load steps, through the write path's generator and driver
(`btb.workload.ingest`, `btb.workload.ingest_driver`): one generator for the whole trial, so the building's
clock runs on from step to step (no sample written twice), each step applying its slice of the operations
open loop on a writer session of its own while a reader session probes freshness (commit → visible in Q6).

This build may lack that write path: then `btb submit` refuses the campaign, and a trial that still meets
one says so by name (`IngestUnavailable`), never by running without its ingest.
"""

from __future__ import annotations

import importlib
import threading

from btb.dataset.changes import Overlay
from btb.workflow.attempt import Attempt, dataset_path, scenario_for
from btb.workload import hdr
from btb.workload.spec import INGEST_MODULE


# a freshness probe is offered after every non-empty batch (a probe still busy skips it, counted): at the
# building's own rates most batches are empty (points sample on their interval grid), and every 10th batch
# gave a trial ~18 probes on small-1w at 5x, too few for a p95
PROBE_EVERY = 1


class IngestUnavailable(RuntimeError):
    pass


def _modules():
    try:
        return importlib.import_module(INGEST_MODULE), importlib.import_module(INGEST_MODULE + "_driver")
    except ModuleNotFoundError as e:
        raise IngestUnavailable(f"workload.ingest: live ingest is not available in this build ({e.name} missing)") from e


class LiveIngest:
    def __init__(self, att: Attempt, endpoints: dict, step_s: float, steps: int):
        gen_mod, self._driver = _modules()
        w = att.campaign.workload
        i = w.ingest
        spec = gen_mod.IngestSpec(speedup=i.speedup, batch_interval_s=i.batch_interval_s, gateway=i.gateway,
                                  metadata_share=i.metadata_share, duration_s=step_s * max(1, steps), seed=w.seed)
        gen = gen_mod.IngestGenerator(dataset_path(att.ctx, att.trial), spec)
        self.ops = list(gen.ops())  # generated before any clock starts
        self.id_of, self.step_s = gen.id_of, step_s
        self._make = lambda: scenario_for(att.trial, endpoints, att.campaign)
        self._thread: threading.Thread | None = None
        self._out: dict = {}
        self.overlay = Overlay()  # what every step committed: the store check after the last step judges by it

    def start(self, index: int) -> "LiveIngest":
        lo, hi = index * self.step_s, (index + 1) * self.step_s
        ops = [type(o)(o.at_s - lo, o.op) for o in self.ops if lo <= o.at_s < hi]
        self._out = {}
        self._thread = threading.Thread(target=self._run, args=(ops,), name="btb-live-ingest", daemon=True)
        self._thread.start()
        return self

    def _run(self, ops: list) -> None:
        writer, reader = self._make(), self._make()
        try:
            self._out = figures(self._driver.run_ingest(writer, ops, self.id_of, duration_s=self.step_s, reader=reader,
                                                           overlay=self.overlay, probe_every=PROBE_EVERY))
        except Exception as e:  # noqa: BLE001 - recorded with the step, never dropped
            self._out = {"status": "error", "message": f"{type(e).__name__}: {e}"[:500]}
        finally:
            writer.close()
            reader.close()

    def stop(self) -> dict:
        if self._thread is not None:
            self._thread.join()
        return dict(self._out)


def _hist(xs: list[float]) -> tuple[str, dict]:
    h = hdr.histogram()
    for x in xs:
        hdr.record(h, x)
    return hdr.encode(h), hdr.summary(h)


def figures(run) -> dict:
    """An ingest run as a record: offered vs achieved rate, write service times, start lag, freshness."""
    service, s_sum = _hist(run.service_s)
    fresh, f_sum = _hist(run.freshness_s)
    _, lag = _hist(run.start_lag_s)
    return {"status": "ok" if not run.errors else "errors", "ops": run.ops, "batches": run.batches,
            "changes": run.changes, "offered_samples_per_s": run.offered_samples_per_s,
            "achieved_samples_per_s": run.achieved_samples_per_s, "append_samples_per_s": run.append_samples_per_s,
            "errors": len(run.errors), "messages": run.errors[:3] + run.probe_failures[:3],
            "service": service, "service_summary": s_sum, "freshness": fresh, "freshness_summary": f_sum,
            "start_lag_summary": lag, "probes_skipped": run.probes_skipped, "probe_failures": len(run.probe_failures)}
