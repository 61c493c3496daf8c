#!/usr/bin/python3
"""A WebSocket client over HTTP/1.1 and TLS (no certificate check) for Canarygate's tunnel tests.

Usage: ws_tls_client.py PORT. Handshake, a text message and a 200 KiB binary message echoed, a close
frame echoed, then the end of the connection. Prints one JSON line; exits 1 with "error" on a surprise.
Standard library only; every read is bounded (10 s).
"""

import base64
import hashlib
import socket
import ssl
import sys

from ws_frames import echo_messages, parse_frame, report

KEY = base64.b64encode(b"the sample nonce").decode()
ACCEPT = base64.b64encode(hashlib.sha1(KEY.encode() + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()).decode()


def run(port, result):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock = context.wrap_socket(raw, server_hostname="localhost")
    sock.sendall(
        (
            "GET /chat HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {KEY}\r\n\r\n"
        ).encode()
    )
    buf = bytearray()
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        buf.extend(chunk)
    end = buf.index(b"\r\n\r\n")
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    del buf[: end + 4]
    result["status"] = int(lines[0].split(" ")[1])
    fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    result["accepted"] = fields.get("sec-websocket-accept") == ACCEPT

    def receive():
        while True:
            parsed = parse_frame(buf)
            if parsed:
                del buf[: parsed[2]]
                return parsed[0], parsed[1]
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside a frame")
            buf.extend(chunk)

    echo_messages(sock.sendall, receive, result)
    try:
        result["ended"] = sock.recv(65536) == b""
    except (ConnectionError, ssl.SSLError):
        result["ended"] = True


def main():
    port = int(sys.argv[1])
    return report(lambda result: run(port, result))


if __name__ == "__main__":
    sys.exit(main())
