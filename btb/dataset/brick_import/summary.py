"""What an import did, per model class: mapped (to which btb node type/class), inferred, dropped — and why.

Kept as plain counters so the CLI prints it, the manifest stores it and tests assert on it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field


@dataclass
class ImportSummary:
    mapped: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # model class -> {btb target: n}
    inferred: Counter = field(default_factory=Counter)  # what the import added or decided, with the rule
    dropped: Counter = field(default_factory=Counter)  # what the import left out, with the reason
    notes: list[str] = field(default_factory=list)  # examples (first few) for the reader

    def map(self, model_class: str, target: str) -> None:
        self.mapped[model_class][target] += 1

    def infer(self, what: str, n: int = 1) -> None:
        self.inferred[what] += n

    def drop(self, what: str, n: int = 1, example: str | None = None) -> None:
        self.dropped[what] += n
        if example and sum(1 for x in self.notes if x.startswith(what)) < 3:
            self.notes.append(f"{what}: {example}")

    def to_dict(self) -> dict:
        return {"mapped": {k: dict(sorted(v.items())) for k, v in sorted(self.mapped.items())},
                "inferred": dict(sorted(self.inferred.items())), "dropped": dict(sorted(self.dropped.items())),
                "notes": self.notes}

    @classmethod
    def from_dict(cls, d: dict) -> "ImportSummary":
        out = cls()
        for k, v in (d.get("mapped") or {}).items():
            out.mapped[k].update(v)
        out.inferred.update(d.get("inferred") or {})
        out.dropped.update(d.get("dropped") or {})
        out.notes = list(d.get("notes") or [])
        return out

    def lines(self) -> list[str]:
        """Human-readable summary: one line per model class, then inferred and dropped."""
        out = ["mapped (model class -> btb node type/class: count):"]
        for cls, targets in sorted(self.mapped.items()):
            out.append(f"  {cls} -> " + ", ".join(f"{t}: {n}" for t, n in sorted(targets.items())))
        out.append("inferred:" if self.inferred else "inferred: nothing")
        out += [f"  {k}: {v}" for k, v in sorted(self.inferred.items())]
        out.append("dropped:" if self.dropped else "dropped: nothing")
        out += [f"  {k}: {v}" for k, v in sorted(self.dropped.items())]
        if self.notes:
            out.append("examples:")
            out += [f"  {n}" for n in self.notes]
        return out
