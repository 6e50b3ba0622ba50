"""The DuckDB host's wire format: one pickled tuple per message, framed by a 4-byte length over a unix socket
(after `multiprocessing.connection`'s HMAC challenge with the engine's key, once per connection).

Why this and not JSON or a SQL wire protocol: a query's round trip must cost the harness next to nothing
(issue target <= 20 µs, `benchmarks/bench_overhead.py`). A message is one `sendmsg` of the header and the
pickle (no copy, one syscall) and, up to the receive buffer's size, one `recv_into` of a buffer kept by the
connection (no per-message allocation besides the pickle); `multiprocessing.connection`'s own framing reads
each message in two syscalls through a fresh `BytesIO`, ~4 µs more per round trip here. No new dependency.
Messages are read with a *restricted* unpickler that only builds plain values (str, int, float, bytes, None,
tuples, lists, dicts) and the few value classes rows and parameters carry (datetime, date, time, timedelta,
timezone, Decimal, UUID): a message can never name a callable, whoever wrote it.

Requests:  ("q", sql, params)  -> ("ok", rows, engine_s)  rows: list of tuples, every row fetched
           ("x", sql)          -> ("ok", None, engine_s)  a statement run for its effect (DDL, COPY, SET)
           ("cfg", {...})      -> ("ok", None, None)      session settings, e.g. {"timeout_s": 60}
           ("interrupt",)      -> ("ok", n, None)         interrupts the statements in flight (n of them)
           ("ping",)           -> ("ok", {info}, None)    version, settings, pid
Errors:    ("err", kind, message)   kind: "oom" | "timeout" | "interrupted" | "error"
engine_s: the seconds DuckDB's own calls took inside the host (`execute` + `fetchall`), measured there: what a
round trip holds beyond it is the harness's overhead (`benchmarks/bench_overhead.py`).
"""

from __future__ import annotations

import datetime
import decimal
import io
import pickle
import socket
import struct
import uuid
from typing import Any

PROTOCOL = pickle.HIGHEST_PROTOCOL
HEADER = struct.Struct("!I")  # the pickle's length
MAX_MESSAGE = (1 << 32) - 1
BUFFER = 1 << 16  # a connection's receive buffer: a message up to this size is read in one syscall
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


def send(sock: socket.socket, payload: bytes) -> None:
    """One message: the header and the pickle in one `sendmsg` (the rest, if the socket took less, by `sendall`)."""
    n = len(payload)
    if n > MAX_MESSAGE:
        raise ValueError(f"DuckDB host message of {n} bytes: more than the wire's {MAX_MESSAGE} bytes")
    head = HEADER.pack(n)
    sent = sock.sendmsg((head, payload))
    if sent < n + HEADER.size:
        sock.sendall(memoryview(head + payload)[sent:])


class Receiver:
    """Reads one connection's messages into one buffer kept for the connection's life (grown for a larger
    message, and back to `BUFFER` after it). Bytes past a message (never, in this request/reply protocol, but
    kept if a peer sends ahead) stay for the next `recv`."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray(BUFFER)
        self.start = self.end = 0  # unread bytes: buf[start:end]

    def _fill(self, need: int) -> None:
        """Read until buf[start:end] holds `need` bytes."""
        if self.start + need > len(self.buf):  # move the unread bytes to the front of a buffer large enough
            size = max(BUFFER, need)
            buf = bytearray(size) if size != len(self.buf) else self.buf
            buf[:self.end - self.start] = self.buf[self.start:self.end]
            self.buf, self.end, self.start = buf, self.end - self.start, 0
        view = memoryview(self.buf)
        while self.end - self.start < need:
            got = self.sock.recv_into(view[self.end:])
            if not got:
                raise EOFError("DuckDB host connection closed")
            self.end += got

    def recv(self) -> Any:
        """The next message, unpickled by `loads`."""
        if self.end - self.start < HEADER.size:
            self._fill(HEADER.size)
        (n,) = HEADER.unpack_from(self.buf, self.start)
        if self.end - self.start < HEADER.size + n:
            self._fill(HEADER.size + n)
        first = self.start + HEADER.size
        msg = loads(memoryview(self.buf)[first:first + n])
        self.start = first + n
        if self.start == self.end:
            self.start = self.end = 0
            if len(self.buf) > BUFFER:
                self.buf = bytearray(BUFFER)
        return msg


def take_socket(conn: Any) -> socket.socket:
    """The socket of an authenticated `multiprocessing.connection.Connection` (its fd duplicated, then the
    Connection closed): messages then go through `send` and `Receiver`."""
    sock = socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
    conn.close()
    return sock
