"""Markdown tables for docs/workloads.md from a workloads campaign's result files:

    python benchmarks/workload_tables.py results/<campaign>
"""
import csv, sys, json
from pathlib import Path
d = Path(sys.argv[1])
def rows(name):
    p = d / name
    return list(csv.DictReader(p.open())) if p.exists() else []
def f(x, nd=0):
    if x in (None, "", "None"): return "—"
    v = float(x); return f"{v:,.{nd}f}"
curve = rows("load_curves.csv")
order = ["P1","P2","F1","F2","O1","O2"]
lv = sorted({r["level"] for r in curve}, key=lambda s: (len(s), s))
print("### mix open loop"); rates = sorted({float(r["offered_ops_s"]) for r in curve if r["workload"]=="mix" and r["loop"]=="open"})
print("| scenario | budget | " + " | ".join(f"{r:g}/s" for r in rates) + " |"); print("|---|---|" + "---|"*len(rates))
for L in lv:
  for s in order:
    cells=[]
    for rate in rates:
      m=[r for r in curve if r["scenario"]==s and r["level"]==L and r["workload"]=="mix" and r["loop"]=="open" and float(r["offered_ops_s"])==rate]
      if not m: cells.append("—"); continue
      r=m[0]; fail = (int(r["ops"])-int(r["ok"]))/max(1,int(r["ops"]))*100
      cells.append(f"{f(r['achieved_ops_s'],1)}: {f(r['response_p50_ms'])} / {f(r['response_p95_ms'])}, {fail:.0f} %" + ("" if r["verdict"]=="valid" else f" {r['verdict']}"))
    if any(c!="—" for c in cells): print(f"| {s} | {L} | " + " | ".join(cells) + " |")
print("\n### sessions")
ops = sorted({int(float(r["clients"])) for r in curve if r["workload"]=="sessions"})
print("| scenario | budget | " + " | ".join(f"{o} operators" for o in ops) + " |"); print("|---|---|" + "---|"*len(ops))
for L in lv:
  for s in order:
    cells=[]
    for o in ops:
      m=[r for r in curve if r["scenario"]==s and r["level"]==L and r["workload"]=="sessions" and int(float(r["clients"]))==o]
      if not m: cells.append("—"); continue
      r=m[0]; fail=(int(r["ops"])-int(r["ok"]))/max(1,int(r["ops"]))*100
      cells.append(f"{f(r['achieved_ops_s'],2)}: {f(r['response_p50_ms'])} / {f(r['response_p95_ms'])}, {fail:.0f} %" + ("" if r["verdict"]=="valid" else f" {r['verdict']}"))
    if any(c!="—" for c in cells): print(f"| {s} | {L} | " + " | ".join(cells) + " |")
print("\n### saturation")
sat = rows("saturation.csv")
print("| scenario | budget | workload | saturation ops/s | reached | peak achieved | note |"); print("|---|---|---|---|---|---|---|")
for L in lv:
  for s in order:
    for r in sat:
      if r["scenario"]==s and r["level"]==L:
        print(f"| {s} | {L} | {r['workload']} | {r['saturation_ops_s'] or '—'} | {r['reached']} | {r['peak_achieved_ops_s']} | {r['note'][:140]} |")
print("\n### live ingest")
li = rows("live_ingest.csv")
if li:
  print(list(li[0].keys()))
  for r in li[:80]: print(r)
print("\n### scores"); 
for r in rows("scores.csv"): print(r)
