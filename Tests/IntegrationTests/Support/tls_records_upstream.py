#!/usr/bin/env python3
# Purpose: an HTTPS upstream for one request that counts the TLS records its request body arrived in.
"""Usage: tls_records_upstream.py PORT CERT KEY

Listens on 127.0.0.1:PORT (prints "ready" once listening), accepts one connection, handshakes TLS 1.2
through ssl.MemoryBIO (so that every application-data record, type 23, is seen as it comes off the
socket; TLS 1.2 so that no handshake message travels in one), reads the request head, waits 0.3 s so
that the body piles up behind it, then reads the Content-Length body. Answers 200 with a JSON body:
{"records": N, "bodyLength": L} where N counts the records that carried the request after its head's.
"""
import json
import socket
import ssl
import sys
import time

from tls_record_counter import RecordCountingTLS

port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(1)
print("ready", flush=True)
sock, _ = listener.accept()
sock.settimeout(10)
conn = RecordCountingTLS(sock, ctx, server_side=True)
conn.handshake("peer closed during the handshake")

plain = b""
head_records = None  # records counted when the head was complete
length = None
while True:
    if length is None:
        head, sep, _ = plain.partition(b"\r\n\r\n")
        if sep:
            lines = head.decode("latin-1").split("\r\n")
            length = next(int(l.split(":", 1)[1]) for l in lines if l.lower().startswith("content-length:"))
            body_start = len(head) + 4
            head_records = conn.records
            time.sleep(0.3)
    if length is not None and len(plain) >= body_start + length:
        break
    plain += conn.receive("peer closed before the request was complete")

body = json.dumps({"records": conn.records - head_records, "bodyLength": length}).encode()
conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
sock.close()
