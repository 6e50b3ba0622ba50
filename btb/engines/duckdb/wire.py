"""The DuckDB host's wire format: one pickled tuple per message, framed by `multiprocessing.connection` over a
unix socket (a 4-byte length, then the bytes; HMAC challenge with the engine's key once per connection).

Why this and not JSON or a SQL wire protocol: a query's round trip must cost the harness next to nothing
(issue target ≤ 20 µs, `benchmarks/bench_overhead.py`); pickle of a few tuples and one write + two reads on a
unix socket do, and no new dependency is needed. Messages are read with a *restricted* unpickler that only
builds plain values (str, int, float, bytes, None, tuples, lists, dicts) and the few value classes rows and
parameters carry (datetime, date, time, timedelta, timezone, Decimal, UUID): a message can never name a
callable, whoever wrote it.

Requests:  ("q", sql, params)  -> ("ok", rows)           rows: list of tuples, every row fetched
           ("x", sql)          -> ("ok", None)           a statement run for its effect (DDL, COPY, SET)
           ("cfg", {...})      -> ("ok", None)           session settings, e.g. {"timeout_s": 60}
           ("interrupt",)      -> ("ok", n)              interrupts the statements in flight (n of them)
           ("ping",)           -> ("ok", {info})         version, settings, pid
Errors:    ("err", kind, message)   kind: "oom" | "timeout" | "interrupted" | "error"
"""

from __future__ import annotations

import datetime
import decimal
import io
import pickle
import uuid
from typing import Any

PROTOCOL = pickle.HIGHEST_PROTOCOL
ALLOWED = {
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta"),
    ("datetime", "timezone"), ("decimal", "Decimal"), ("uuid", "UUID"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "complex"),
}
_CLASSES = {("datetime", n): getattr(datetime, n) for n in ("datetime", "date", "time", "timedelta", "timezone")}
_CLASSES.update({("decimal", "Decimal"): decimal.Decimal, ("uuid", "UUID"): uuid.UUID, ("builtins", "set"): set,
                 ("builtins", "frozenset"): frozenset, ("builtins", "complex"): complex})


class Refused(pickle.UnpicklingError):
    """A message naming a class outside `ALLOWED`: never built."""


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _CLASSES[(module, name)]
        except KeyError:
            raise Refused(f"DuckDB host message refused: it names {module}.{name}, which is not a plain value") from None


def dumps(obj: Any) -> bytes:
    return pickle.dumps(obj, PROTOCOL)


def loads(data: bytes) -> Any:
    """Unpickle a message, building no class outside `ALLOWED`."""
    return _Restricted(io.BytesIO(data)).load()


def plain(value: Any) -> Any:
    """A row value the other side can rebuild: datetimes with a foreign tzinfo (DuckDB hands out its own
    zone objects) become fixed-offset ones; everything else passes as is."""
    if isinstance(value, datetime.datetime) and value.tzinfo is not None and type(value.tzinfo) is not datetime.timezone:
        off = value.utcoffset()
        return value.replace(tzinfo=datetime.timezone(off) if off else datetime.timezone.utc)
    return value
