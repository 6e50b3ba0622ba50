"""A SPARQL 1.1 Protocol client over one persistent HTTP/1.1 connection (plain `http.client`).

Why not SPARQLWrapper: it opens a new urllib connection per query (a TCP connect inside every measured
query), it cannot stream a request body (the bulk load sends hundreds of MB), and it gives no handle on
the socket, so the watchdog could not abort a query in flight. Here `cancel()` (called from the watchdog
thread) shuts the socket down: the blocked read fails at once and the server drops the request.

Errors: any non-2xx answer raises `SparqlError` with the server's status and message (never an empty
result). Bindings: SPARQL has no parameters over HTTP; `bind_terms` substitutes `$name` placeholders with
RDF terms serialized and escaped here (IRIs percent-encoded, literals escaped), never raw text.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from typing import Any, Iterable, Mapping
from urllib.parse import urlencode, urlsplit

XSD = "http://www.w3.org/2001/XMLSchema#"
_INT_TYPES = {XSD + t for t in ("integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
                                "unsignedInt", "unsignedLong", "negativeInteger", "nonPositiveInteger")}
_FLOAT_TYPES = {XSD + t for t in ("double", "float", "decimal")}


class SparqlError(RuntimeError):
    pass


def term_value(t: Mapping[str, str] | None) -> Any:
    """A SPARQL JSON result term as a Python value (numbers typed; IRIs and strings as str)."""
    if t is None:
        return None
    v = t["value"]
    dt = t.get("datatype")
    if dt in _INT_TYPES:
        return int(v)
    if dt in _FLOAT_TYPES:
        return float(v)
    if dt == XSD + "boolean":
        return v == "true"
    return v


class SparqlSession:
    def __init__(self, url: str, connect_timeout_s: float = 10.0):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.connect_timeout_s = connect_timeout_s
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self.cancelled = False

    # --- connection ---------------------------------------------------------------------------------
    def connect(self) -> http.client.HTTPConnection:
        if self._conn is None:
            c = http.client.HTTPConnection(self.host, self.port, timeout=self.connect_timeout_s)
            c.connect()
            c.sock.settimeout(None)  # queries are bounded by the watchdog, not a socket timeout
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn = c
        return self._conn

    def close(self) -> None:
        with self._lock:
            c, self._conn = self._conn, None
        if c is not None:
            c.close()

    def cancel(self) -> None:
        """From another thread: abort the request in flight (the connection is dropped, a new one is made)."""
        self.cancelled = True
        c = self._conn
        if c is not None and c.sock is not None:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _request(self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None,
                 chunked: bool = False) -> bytes:
        self.cancelled = False
        for attempt in (0, 1):
            reused = self._conn is not None
            conn = self.connect()
            try:
                conn.request(method, path, body=body, headers=dict(headers or {}), encode_chunked=chunked)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as e:
                self.close()
                # a kept-alive connection the server closed while idle: send once more on a new one (only
                # bodies we still hold; never after a cancel)
                stale = isinstance(e, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if attempt == 0 and reused and stale and not self.cancelled and isinstance(body, (str, bytes, type(None))):
                    continue
                raise
            if resp.will_close:
                self.close()
            if resp.status >= 300:
                raise SparqlError(f"HTTP {resp.status} {resp.reason}: {data.decode('utf-8', 'replace').strip()[:400]}")
            return data
        raise AssertionError("unreachable")

    # --- SPARQL -------------------------------------------------------------------------------------
    def select(self, text: str) -> tuple[list[str], list[tuple]]:
        """(variables, rows) of a SELECT; unbound values are None."""
        data = self._request("POST", "/query", body=urlencode({"query": text}),
                             headers={"Content-Type": "application/x-www-form-urlencoded",
                                      "Accept": "application/sparql-results+json"})
        doc = json.loads(data)
        names = doc["head"]["vars"]
        return names, [tuple(term_value(b.get(n)) for n in names) for b in doc["results"]["bindings"]]

    def rows(self, text: str) -> list[tuple]:
        return self.select(text)[1]

    def update(self, text: str) -> None:
        self._request("POST", "/update", body=urlencode({"update": text}),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})

    def post_store(self, blocks: Iterable[bytes], *, params: str = "default", content_type: str = "application/n-triples") -> None:
        """Stream a body into the Graph Store endpoint (`?default`: the default graph, not a new named one)."""
        self._request("POST", f"/store?{params}", body=blocks, headers={"Content-Type": content_type}, chunked=True)

    def clear(self) -> None:
        self.update("CLEAR ALL")


def iri(s: str) -> str:
    bad = set('<>"{}|^`\\ ')
    if any(ch in bad or ord(ch) <= 0x20 for ch in s):
        raise ValueError(f"not an IRI: {s!r}")
    return f"<{s}>"


def literal(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f'"{v!r}"^^<{XSD}double>'
    s = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{s}"'


def bind_terms(text: str, terms: Mapping[str, str]) -> str:
    """Replace `$name` placeholders by already-serialized terms (longest names first)."""
    for k in sorted(terms, key=len, reverse=True):
        text = text.replace(f"${k}", terms[k])
    if "$" in text.replace("$$", ""):
        left = sorted({w.split()[0].strip(".;,)}") for w in text.split("$")[1:]})
        raise KeyError(f"unbound placeholders: {left}")
    return text
