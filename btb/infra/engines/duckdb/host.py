"""The DuckDB engine host: a small process that owns one DuckDB database and answers queries over a unix socket.

DuckDB is a library, not a server. Run inside btb's process it would take its memory from btb's budget (none)
and a runaway query would take btb down with it; run here, inside the trial's cgroup slot, the budget binds
the engine (memory_limit and threads sized from it, `settings.py`) and an OOM kill ends this process only.

    python -m btb.infra.engines.duckdb.host <config.json>

config.json (written 0600 by `LocalDuckDB`): {"database", "socket", "authkey_file", "pid_file", "settings"}.
One DuckDB connection per database; each client connection gets its own cursor and thread, so an
`interrupt` sent on a second connection stops the statement in flight on the first. The session's
`timeout_s` is enforced here (one deadline thread for every session, armed and disarmed under a lock per
query: no thread or timer is made per query). SIGTERM closes the database cleanly (a checkpoint) and exits.

Per query the host does what a careful embedding would: the session keeps each query text parsed once
(`extract_statements`, then `execute` of the parsed statement with the new parameters: DuckDB binds and plans
it again, so a changed table is seen; ~20-50 µs less per call than parsing the text each time, measured in
`benchmarks/bench_overhead.py`, whose in-process side makes the same calls), and every reply carries the
seconds those DuckDB calls took here (`engine_s`, see `wire.py`).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection, Listener
from pathlib import Path
from typing import Any

from btb.engines.duckdb import wire

POLL_S = 0.05  # deadline thread's period: a timeout fires at most this late
PARSED_MAX = 256  # query texts a session keeps parsed (the workload has 13; a full cache starts over)


class Deadlines:
    """Interrupts a cursor whose statement runs past its session's timeout (one thread for all sessions)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[int, tuple[float, Any]] = {}
        self.fired: set[int] = set()
        threading.Thread(target=self._loop, name="duckdb-host-deadlines", daemon=True).start()

    def arm(self, key: int, cursor: Any, timeout_s: float | None) -> None:
        """Register the statement in flight (`interrupt_all` reaches it), with its deadline if any."""
        deadline = time.monotonic() + timeout_s if timeout_s else float("inf")
        with self._lock:
            self._armed[key] = (deadline, cursor)

    def disarm(self, key: int) -> bool:
        """Disarm; True when this statement was interrupted by its deadline."""
        with self._lock:
            self._armed.pop(key, None)
            if key in self.fired:
                self.fired.discard(key)
                return True
            return False

    def interrupt_all(self) -> int:
        with self._lock:
            cursors = [c for _, c in self._armed.values()]
        for c in cursors:
            c.interrupt()
        return len(cursors)

    def _loop(self) -> None:
        while True:
            time.sleep(POLL_S)
            now = time.monotonic()
            with self._lock:
                late = [(k, c) for k, (t, c) in self._armed.items() if t <= now]
                for k, c in late:
                    del self._armed[k]
                    self.fired.add(k)
                    c.interrupt()


def error_kind(exc: BaseException) -> str:
    import duckdb

    if isinstance(exc, duckdb.OutOfMemoryException):
        return "oom"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, duckdb.InterruptException):
        return "interrupted"
    return "error"


FOREIGN_ZONES = (b"pytz", b"zoneinfo")  # modules of the zone objects DuckDB puts on TIMESTAMPTZ values


def reply(answer: tuple) -> bytes:
    """The pickled answer. DuckDB's zone objects do not cross the wire (the client builds plain values only):
    where the bytes name their module, datetimes get fixed-offset zones. A substring test, not a look at
    every value or at the cursor's description, so a row without timestamps costs nothing more."""
    data = wire.dumps(answer)
    if answer[0] == "ok" and type(answer[1]) is list and (FOREIGN_ZONES[0] in data or FOREIGN_ZONES[1] in data):
        data = wire.dumps(("ok", [tuple(wire.plain(v) for v in r) for r in answer[1]], answer[2]))
    return data


class Session:
    """One client connection: its cursor, its parsed query texts, its timeout, its request loop."""

    def __init__(self, host: "Host", conn: Connection):
        self.host = host
        self.sock = wire.take_socket(conn)
        self.cursor = host.db.cursor()
        self.parsed: dict[str, Any] = {}
        self.timeout_s: float | None = None
        self.key = id(self)

    def serve(self) -> None:
        rx = wire.Receiver(self.sock)
        try:
            while True:
                try:
                    msg = rx.recv()
                except (EOFError, OSError):
                    return
                wire.send(self.sock, reply(self.answer(msg)))
        except OSError:  # the client went away before its reply
            return
        finally:
            self.cursor.close()
            self.sock.close()

    def answer(self, msg: tuple) -> tuple:
        op = msg[0]
        try:
            if op == "q":
                return ("ok", *self._run(self._statement(msg[1]), msg[2], fetch=True))
            if op == "x":
                return "ok", None, self._run(msg[1], msg[2] if len(msg) > 2 else None, fetch=False)[1]
            if op == "cfg":
                self.timeout_s = msg[1].get("timeout_s", self.timeout_s)
                return "ok", None, None
            if op == "interrupt":
                return "ok", self.host.deadlines.interrupt_all(), None
            if op == "ping":
                return "ok", self.host.info(), None
            return "err", "error", f"unknown request {op!r}"
        except Exception as e:  # noqa: BLE001 - every engine error goes back to the client as an answer
            return "err", error_kind(e), f"{type(e).__name__}: {e}"

    def _statement(self, sql: str) -> Any:
        """The query text parsed once per session (a text of several statements runs as text)."""
        stmt = self.parsed.get(sql)
        if stmt is None:
            found = self.cursor.extract_statements(sql)
            if len(found) != 1:
                return sql
            if len(self.parsed) >= PARSED_MAX:
                self.parsed.clear()
            stmt = self.parsed[sql] = found[0]
        return stmt

    def _run(self, sql: Any, params: Any, fetch: bool) -> tuple[Any, float]:
        """(rows or None, seconds of DuckDB's execute + fetchall)."""
        dl = self.host.deadlines
        cur = self.cursor
        dl.arm(self.key, cur, self.timeout_s)
        try:
            t0 = time.perf_counter()
            cur.execute(sql, params) if params else cur.execute(sql)
            out = cur.fetchall() if fetch else None
            engine_s = time.perf_counter() - t0
        except Exception as e:
            if dl.disarm(self.key):
                raise TimeoutError(f"statement exceeded the session timeout of {self.timeout_s:g} s ({e})") from e
            raise
        dl.disarm(self.key)
        return out, engine_s


class Host:
    def __init__(self, config: dict[str, Any]):
        import duckdb

        self.config = config
        self.settings = dict(config.get("settings") or {})
        self.db = duckdb.connect(config["database"], config={k: str(v) for k, v in self.settings.items()})
        self.deadlines = Deadlines()
        self.version = duckdb.__version__

    def info(self) -> dict[str, Any]:
        names = ("memory_limit", "threads", "temp_directory", "max_temp_directory_size", "preserve_insertion_order")
        cur = self.db.cursor()
        try:
            shown = {n: str(cur.execute("select current_setting(?)", [n]).fetchone()[0]) for n in names}
        finally:
            cur.close()
        return {"version": self.version, "pid": os.getpid(), "settings": shown, "requested": self.settings}

    def serve(self) -> None:
        sock = self.config["socket"]
        Path(sock).unlink(missing_ok=True)
        key = Path(self.config["authkey_file"]).read_bytes()
        old = os.umask(0o177)  # the socket itself 0600, inside a 0700 dir
        try:
            listener = Listener(sock, family="AF_UNIX", authkey=key)
        finally:
            os.umask(old)
        Path(self.config["pid_file"]).write_text(f"{os.getpid()}\n")
        try:
            while True:
                try:
                    conn = listener.accept()
                except (OSError, EOFError):  # a client that failed the key challenge, or went away
                    continue
                except Exception:  # noqa: BLE001 - multiprocessing.AuthenticationError: refused, keep serving
                    continue
                threading.Thread(target=Session(self, conn).serve, name="duckdb-host-session", daemon=True).start()
        finally:
            listener.close()

    def close(self) -> None:
        self.db.close()  # checkpoints the WAL into the database file


def main(argv: list[str]) -> None:
    config = json.loads(Path(argv[1]).read_text())
    host = Host(config)

    def stop(_sig: int, _frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        host.serve()
    except SystemExit:
        pass
    finally:
        host.close()
        Path(config["socket"]).unlink(missing_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
    # no interpreter teardown: session threads may still hold DuckDB cursors, and unwinding them at exit aborts
    # the process ("FATAL: exception not rethrown") after the database was already closed cleanly
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
