"""Stable btb ids for a model's entities, independent of the parser's order and blank-node labels."""

from __future__ import annotations

import hashlib
from collections import defaultdict

from btb.dataset.brick_import.hierarchy import local_name
from btb.dataset.brick_import.parse import ModelData


def stable_ids(data: ModelData, terms: list[str]) -> dict[str, str]:
    """btb id per term: btb:id when the model has it (btb's own export), else the IRI's local name when
    unique, else the full IRI; blank nodes: 'bnode:' + a hash of their own triples (parse-independent)."""
    out: dict[str, str] = {}
    locals_: dict[str, int] = defaultdict(int)
    for t in terms:
        if not t.startswith("_:"):
            locals_[local_name(t)] += 1
    rel_by_s: dict[str, list[str]] = defaultdict(list)
    for s, r, o in data.relations:
        if s.startswith("_:"):
            rel_by_s[s].append(f"{r}>{'_' if o.startswith('_:') else o}")
        if o.startswith("_:"):
            rel_by_s[o].append(f"<{r}{'_' if s.startswith('_:') else s}")
    used: set[str] = set()
    for t in terms:
        given = data.btb_attrs.get(t, {}).get("id")
        if given is not None:
            out[t] = str(given)
        elif t.startswith("_:"):
            content = "|".join(sorted(data.types.get(t, [])) + sorted(rel_by_s[t]) + [data.labels.get(t, "")])
            base = "bnode:" + hashlib.sha256(content.encode()).hexdigest()[:12]
            i, cand = 1, base
            while cand in used:
                i += 1
                cand = f"{base}-{i}"
            out[t] = cand
        else:
            ln = local_name(t)
            out[t] = ln if ln and locals_[ln] == 1 else t
        used.add(out[t])
    return out
