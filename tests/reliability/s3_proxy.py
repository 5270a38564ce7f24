"""A TCP proxy in front of the S3 API server, as a process the tests can SIGKILL and restart.

Moto's in-memory server loses every object when it stops, so "the S3 endpoint dies" is played by
this proxy instead: timecard talks to the proxy, the proxy to moto, and killing the proxy cuts
every connection at once, mid-request, like a crashed endpoint or a broken network.

    python -m tests.reliability.s3_proxy --port P --upstream-port Q [--slow-csv-body]

It prints `LISTENING <port>` once it accepts connections. For every `PUT` of a key ending in
`.csv` it prints `PUT <target>`. With `--slow-csv-body` it then forwards the rest of that
connection (the CSV's body first) 1 KiB at a time, ten times a second, and prints
`CSV BODY IN FLIGHT <target>` once the first KiB of the body reached the server: the moment a
test kills it. Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import socket
import sys
import threading
import time

# The request line of a PUT whose key (before any query string) ends in `.csv`.
CSV_PUT = re.compile(rb"PUT (/[^ ?]*\.csv(?:\?[^ ]*)?) HTTP/1\.[01]\r\n")
HEADERS_END = b"\r\n\r\n"
SLOW_CHUNK, SLOW_PAUSE = 1024, 0.1


def say(line: str) -> None:
    print(line, flush=True)


def shut(*sockets: socket.socket) -> None:
    for side in sockets:
        with contextlib.suppress(OSError):
            side.shutdown(socket.SHUT_RDWR)


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
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A restart on the same port must not wait for the killed proxy's sockets to time out.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    say(f"LISTENING {listener.getsockname()[1]}")
    while True:
        client, _ = listener.accept()
        server = socket.create_connection(("127.0.0.1", upstream_port))
        threading.Thread(target=pump, args=(server, client), daemon=True).start()
        threading.Thread(
            target=pump_requests, args=(client, server, slow_csv_body), daemon=True
        ).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--slow-csv-body", action="store_true")
    args = parser.parse_args(argv)
    serve(args.port, args.upstream_port, args.slow_csv_body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
