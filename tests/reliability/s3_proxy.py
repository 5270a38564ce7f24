"""A proxy in front of the S3 API server: killed, slowed or told to fail chosen requests.

Two modes, standard library only.

**TCP mode** (no `--fault`), as a process the tests can SIGKILL and restart. Moto's in-memory
server loses every object when it stops, so "the S3 endpoint dies" is played by this proxy
instead: timecard talks to the proxy, the proxy to moto, and killing the proxy cuts every
connection at once, mid-request, like a crashed endpoint or a broken network.

    python -m tests.reliability.s3_proxy --port P --upstream-port Q [--slow-csv-body]

It prints `LISTENING <port>` once it accepts connections. For every `PUT` of a key ending in
`.csv` it prints `PUT <target>`. With `--slow-csv-body` it then forwards the rest of that
connection (the CSV's body first) 1 KiB at a time, ten times a second, and prints
`CSV BODY IN FLIGHT <target>` once the first KiB of the body reached the server: the moment a
test kills it.

**Fault mode**: the proxy reads each HTTP request whole and either forwards it or answers it
with a fault, chosen by rules. A rule names a request kind (LIST, GET, HEAD, PUT, DELETE, POST
or ANY), a key pattern (a regular expression searched in the object key, or in a LIST's
`prefix`), an action, and which of the matching requests it hits: the n-th one (1-based) and the
`times` after it, or every one. Actions:

- a status code (`500`, `503`, `403`, ...): an S3 error document (`InternalError`, `SlowDown`,
  `AccessDenied`, ...) and `Connection: close`; the request never reaches the server;
- `reset`: the connection is reset (RST) without an answer; the request never reaches the server;
- `slow`: the request is forwarded, and the answer is held back `--slow-seconds` first.

Every injected fault is recorded (and printed, in a process, as `FAULT <kind> <action> <method>
<target>`), so a test asserts that its fault really happened. Deterministic: which request is hit
depends only on the order of the matching requests, never on timing.

    python -m tests.reliability.s3_proxy --port P --upstream-port Q \\
        --fault 'LIST 503 ^events/ nth=1 times=all' --fault 'GET reset \\.json$ nth=2'

In-process, tests use `FaultProxy(upstream_port).start()` and `proxy.inject(Fault(...))`.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import parse_qs, unquote, urlsplit

# The request line of a PUT whose key (before any query string) ends in `.csv`.
CSV_PUT = re.compile(rb"PUT (/[^ ?]*\.csv(?:\?[^ ]*)?) HTTP/1\.[01]\r\n")
HEADERS_END = b"\r\n\r\n"
EXPECT = re.compile(rb"\r\nExpect: *100-continue", re.IGNORECASE)
SLOW_CHUNK, SLOW_PAUSE = 1024, 0.1
KINDS = ("LIST", "GET", "HEAD", "PUT", "DELETE", "POST", "BUCKET", "ANY")
S3_ERROR_CODES = {
    400: "BadRequest",
    403: "AccessDenied",
    404: "NoSuchKey",
    500: "InternalError",
    503: "SlowDown",
}
REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def say(line: str) -> None:
    print(line, flush=True)


def shut(*sockets: socket.socket) -> None:
    for side in sockets:
        with contextlib.suppress(OSError):
            side.shutdown(socket.SHUT_RDWR)


# -- TCP mode -------------------------------------------------------------------------------------


def pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes one way until either side closes."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        shut(source, sink)


def pump_requests(client: socket.socket, server: socket.socket, slow_csv_body: bool) -> None:
    """Copy the client's requests to the server, reporting (and maybe slowing) CSV uploads."""
    seen = b""  # the last few bytes, so a request line split across two reads is still found
    try:
        while data := client.recv(65536):
            window = seen + data
            match = CSV_PUT.search(window)
            if not match:
                server.sendall(data)
                seen = window[-512:]
                continue
            target = match.group(1).decode()
            say(f"PUT {target}")
            if not slow_csv_body:
                server.sendall(data)
                seen = b""
                continue
            already_sent = len(seen)
            while (headers_end := window.find(HEADERS_END, match.start())) < 0:
                if not (more := client.recv(65536)):
                    return
                window += more
            body_start = headers_end + len(HEADERS_END)
            server.sendall(window[already_sent:body_start])
            send_slowly(client, server, window[body_start:], target)
            return
    except OSError:
        pass
    finally:
        shut(client, server)


def send_slowly(client: socket.socket, server: socket.socket, pending: bytes, target: str) -> None:
    """Forward `pending`, then whatever else the client sends, 1 KiB per SLOW_PAUSE."""
    announced = False
    while True:
        while len(pending) < SLOW_CHUNK:
            data = client.recv(65536)
            if not data:
                break
            pending += data
        if not pending:
            return
        chunk, pending = pending[:SLOW_CHUNK], pending[SLOW_CHUNK:]
        server.sendall(chunk)
        if not announced:
            say(f"CSV BODY IN FLIGHT {target}")
            announced = True
        time.sleep(SLOW_PAUSE)


def serve(port: int, upstream_port: int, slow_csv_body: bool) -> None:
    listener = _listen(port)
    say(f"LISTENING {listener.getsockname()[1]}")
    while True:
        client, _ = listener.accept()
        server = socket.create_connection(("127.0.0.1", upstream_port))
        threading.Thread(target=pump, args=(server, client), daemon=True).start()
        threading.Thread(
            target=pump_requests, args=(client, server, slow_csv_body), daemon=True
        ).start()


def _listen(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A restart on the same port must not wait for the killed proxy's sockets to time out.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    return listener


# -- Fault mode -----------------------------------------------------------------------------------


@dataclass
class Fault:
    """Answer the `nth` request of `kind` whose key matches `key` (and the `times - 1` after
    it; `times=None`: every one from the n-th on) with `action`: a status code, `reset` or
    `slow`."""

    kind: str
    action: str
    key: str = ""
    nth: int = 1
    times: int | None = 1
    seen: int = field(default=0, compare=False)  # matching requests so far
    hits: int = field(default=0, compare=False)  # faults injected so far

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown request kind {self.kind!r}; one of {', '.join(KINDS)}")
        if not (self.action in ("reset", "slow") or self.action.isdigit()):
            raise ValueError(f"unknown action {self.action!r}: a status code, reset or slow")

    @classmethod
    def parse(cls, text: str) -> Fault:
        """`KIND ACTION [KEY_REGEX] [nth=N] [times=M|all]`."""
        kind, action, *rest = text.split()
        options = dict(part.split("=", 1) for part in rest if "=" in part)
        key = next((part for part in rest if "=" not in part), "")
        times = options.get("times", "1")
        return cls(
            kind.upper(),
            action.lower(),
            key,
            int(options.get("nth", 1)),
            None if times == "all" else int(times),
        )

    def hit(self, kind: str, key: str) -> bool:
        """Whether this request is one the fault answers (counting it if it matches)."""
        if self.kind not in ("ANY", kind) or not re.search(self.key, key):
            return False
        self.seen += 1
        if self.seen < self.nth or (self.times is not None and self.seen >= self.nth + self.times):
            return False
        self.hits += 1
        return True


@dataclass(frozen=True)
class Injected:
    kind: str
    action: str
    method: str
    target: str
    key: str


@dataclass
class Request:
    method: str
    target: str
    head: bytes
    body: bytes

    def kind_and_key(self) -> tuple[str, str]:
        """The S3 request kind and the key it is about (path-style addressing)."""
        parts = urlsplit(self.target)
        bucket_and_key = unquote(parts.path).lstrip("/").split("/", 1)
        key = bucket_and_key[1] if len(bucket_and_key) > 1 else ""
        query = parse_qs(parts.query, keep_blank_values=True)
        if self.method == "GET" and not key:
            listing = not query or {"list-type", "prefix", "delimiter"} & set(query)
            return ("LIST" if listing else "BUCKET"), query.get("prefix", [""])[0]
        if self.method == "POST" and "delete" in query:  # DeleteObjects: the keys are in the body
            named = re.search(rb"<Key>([^<]*)</Key>", self.body)
            return "DELETE", unescape(named.group(1).decode()) if named else key
        return self.method, key


def _read_head(sock: socket.socket, buffer: bytearray) -> bytes | None:
    while (end := buffer.find(HEADERS_END)) < 0:
        data = sock.recv(65536)
        if not data:
            return None
        buffer += data
    head = bytes(buffer[: end + len(HEADERS_END)])
    del buffer[: end + len(HEADERS_END)]
    return head


def _headers(head: bytes) -> dict[str, str]:
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
    return headers


def _read_exactly(sock: socket.socket, buffer: bytearray, size: int) -> bytes:
    while len(buffer) < size:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed mid-body")
        buffer += data
    body = bytes(buffer[:size])
    del buffer[:size]
    return body


def _read_line(sock: socket.socket, buffer: bytearray) -> bytes:
    while (end := buffer.find(b"\r\n")) < 0:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed mid-body")
        buffer += data
    line = bytes(buffer[: end + 2])
    del buffer[: end + 2]
    return line


def _read_body(sock: socket.socket, buffer: bytearray, headers: dict[str, str]) -> bytes:
    """A message body as it is on the wire (chunked bodies keep their framing)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while True:
            line = _read_line(sock, buffer)
            body += line
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (trailer := _read_line(sock, buffer)) != b"\r\n":
                    body += trailer
                return body + b"\r\n"
            body += _read_exactly(sock, buffer, size + 2)
    return _read_exactly(sock, buffer, int(headers.get("content-length", "0")))


def _read_response(sock: socket.socket, buffer: bytearray, method: str) -> tuple[bytes, bool]:
    """One whole response from the server, and whether the server closes after it."""
    while True:
        head = _read_head(sock, buffer)
        if head is None:
            raise ConnectionError("the server closed the connection")
        status = int(head.split(b" ", 2)[1])
        if not 100 <= status < 200:  # an interim answer (100 Continue) is not the response
            break
    headers = _headers(head)
    closes = headers.get("connection", "").lower() == "close"
    if method == "HEAD" or status in (204, 304):
        return head, closes
    if "content-length" in headers or "chunked" in headers.get("transfer-encoding", ""):
        return head + _read_body(sock, buffer, headers), closes
    rest = bytes(buffer)  # no length: the body runs until the server closes
    buffer.clear()
    while data := sock.recv(65536):
        rest += data
    return head + rest, True


def _error_response(status: int, request: Request, key: str) -> bytes:
    code = S3_ERROR_CODES.get(status, "InternalError")
    body = (
        b""
        if request.method == "HEAD"
        else (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>injected by the test proxy</Message>"
            f"<Key>{key}</Key><RequestId>fault</RequestId></Error>"
        ).encode()
    )
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
        "Content-Type: application/xml\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    return head + body


class FaultProxy:
    """The fault-mode proxy, in a thread of its own (`start`/`stop`) or as a process (`main`)."""

    def __init__(self, upstream_port: int, port: int = 0, slow_seconds: float = 1.0):
        self.upstream_port, self.slow_seconds = upstream_port, slow_seconds
        self.faults: list[Fault] = []
        self.injected: list[Injected] = []
        self.requests: list[tuple[str, str]] = []  # (kind, key) of every request, in order
        self._lock = threading.Lock()
        self._listener = _listen(port)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._connections: set[socket.socket] = set()
        self._stopped = False

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def start(self) -> FaultProxy:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped = True
        shut(self._listener)
        self._listener.close()
        with self._lock:
            connections = list(self._connections)
        shut(*connections)

    def serve_forever(self, announce: bool = False) -> None:
        if announce:
            say(f"LISTENING {self.port}")
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client, announce), daemon=True).start()

    def _decide(self, request: Request) -> tuple[str, str, str | None]:
        kind, key = request.kind_and_key()
        with self._lock:
            self.requests.append((kind, key))
            for fault in self.faults:
                if fault.hit(kind, key):
                    self.injected.append(
                        Injected(kind, fault.action, request.method, request.target, key)
                    )
                    return kind, key, fault.action
        return kind, key, None

    def _handle(self, client: socket.socket, announce: bool) -> None:
        server = None
        with self._lock:
            self._connections.add(client)
        from_client, from_server = bytearray(), bytearray()
        try:
            while True:
                head = _read_head(client, from_client)
                if head is None:
                    return
                method, target = head.split(b" ", 2)[:2]
                headers = _headers(head)
                if headers.get("expect", "").lower() == "100-continue":
                    # Answered here, and not asked of the server: the body is read whole
                    # before the request is judged, so that the connection stays in step.
                    client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                    head = EXPECT.sub(b"", head)
                request = Request(method.decode(), target.decode(), head, b"")
                request.body = _read_body(client, from_client, headers)
                kind, key, action = self._decide(request)
                if action:
                    if announce:
                        say(f"FAULT {kind} {action} {request.method} {request.target}")
                    if action == "reset":
                        client.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                        return
                    if action != "slow":
                        client.sendall(_error_response(int(action), request, key))
                        return
                if server is None:
                    server = socket.create_connection(("127.0.0.1", self.upstream_port))
                    with self._lock:
                        self._connections.add(server)
                server.sendall(request.head + request.body)
                response, closes = _read_response(server, from_server, request.method)
                if action == "slow":
                    time.sleep(self.slow_seconds)
                client.sendall(response)
                if closes:
                    return
        except (OSError, ValueError, IndexError):
            return
        finally:
            with self._lock:
                self._connections.discard(client)
                if server is not None:
                    self._connections.discard(server)
            client.close()
            if server is not None:
                server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--slow-csv-body", action="store_true")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="RULE",
        help="KIND ACTION [KEY_REGEX] [nth=N] [times=M|all] (fault mode)",
    )
    parser.add_argument("--slow-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    if not args.fault:
        serve(args.port, args.upstream_port, args.slow_csv_body)
        return 0
    proxy = FaultProxy(args.upstream_port, args.port, args.slow_seconds)
    proxy.inject(*(Fault.parse(rule) for rule in args.fault))
    proxy.serve_forever(announce=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
