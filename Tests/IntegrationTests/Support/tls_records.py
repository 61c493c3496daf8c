#!/usr/bin/env python3
# Purpose: fetch one HTTP/1.1 response over TLS 1.2 reading the raw socket, and report how many TLS records carried it.
"""Usage: tls_records.py PORT PATH

Connects to 127.0.0.1:PORT, handshakes TLS 1.2 through ssl.MemoryBIO (no certificate check), sends
`GET PATH` and reads raw bytes until the response (Content-Length framed) is complete, counting the
application-data records (type 23) as they come off the socket. TLS 1.2 so that no post-handshake
message (TLS 1.3 session tickets) is counted as a response record. Prints JSON:
{"records": N, "status": S, "bodyLength": L}.
"""
import json
import socket
import ssl
import sys

from tls_record_counter import RecordCountingTLS

port, path = int(sys.argv[1]), sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_alpn_protocols(["http/1.1"])
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = RecordCountingTLS(sock, ctx, server_hostname="localhost")
conn.handshake("peer closed during the handshake")
conn.send(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())

plain = b""
while True:
    head, sep, _ = plain.partition(b"\r\n\r\n")
    if sep:
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(l.split(":", 1)[1]) for l in lines if l.lower().startswith("content-length:"))
        if len(plain) >= len(head) + 4 + length:
            print(json.dumps({"records": conn.records, "status": int(lines[0].split()[1]), "bodyLength": length}))
            break
    plain += conn.receive("peer closed before the response was complete")
sock.close()
