#!/usr/bin/env python3
# Purpose: a TLS upstream whose close-delimited responses end with close_notify, or with a bare TCP FIN.
"""Usage: tls_close_upstream.py PORT CERT KEY

Serves 127.0.0.1:PORT over TLS (any request head, one request per connection). Every response is
HTTP/1.0 200 with a close-delimited body; then:
  GET /whole  sends close_notify, then FIN: the body is complete;
  GET /cut    sends FIN without close_notify, as a forged or middlebox FIN would: the body may be cut.
The end comes 300 ms after the body, so that the proxy has relayed the head and body when it sees it.
  GET /length answers HTTP/1.1 with Content-Length and Connection: close, and sends the FIN without
              close_notify right behind the body (as many servers close): the body is complete.
TLS runs over memory BIOs so that nothing but these bytes reaches the socket. Prints "ready" once listening.
"""
import socket
import ssl
import sys
import threading
import time

BODY = b"the first part of a close-delimited body\n"

port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)


def serve(conn):
    conn.settimeout(10)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_side=True)

    def flush():
        data = outgoing.read()
        if data:
            conn.sendall(data)

    def pump(operation):
        while True:
            try:
                return operation()
            except ssl.SSLWantReadError:
                flush()
                data = conn.recv(65536)
                if not data:
                    raise EOFError
                incoming.write(data)

    try:
        pump(tls.do_handshake)
        flush()
        request = b""
        while b"\r\n\r\n" not in request:
            request += pump(lambda: tls.read(65536))
        path = request.split(b" ")[1]
        if path == b"/length":
            tls.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(BODY) + BODY)
            flush()
        else:
            tls.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + BODY)
            flush()
            time.sleep(0.3)
        if path == b"/whole":
            try:
                tls.unwrap()
            except ssl.SSLWantReadError:
                pass  # our close_notify is in `outgoing`; the peer's is not awaited
            flush()
        conn.shutdown(socket.SHUT_WR)
        # Read until the peer closes: closing with unread bytes would send a reset instead of the FIN.
        while conn.recv(65536):
            pass
    except (OSError, EOFError, ssl.SSLError):
        pass
    finally:
        conn.close()


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(64)
print("ready", flush=True)
while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
