#!/usr/bin/python3
# A WebSocket echo upstream for the tunnel tests (standard library only): the RFC 6455 handshake, then every
# frame echoed back unmasked (ping answered with pong, close echoed then the connection closed).
#
# Usage: ws_backend.py PORT NAME [CERT KEY]. Prints "ready" once listening; with CERT and KEY it speaks TLS. Every response carries `x-upstream: NAME`.
#   GET with `Upgrade: websocket` -> 101 (with `x-seen-connection` / `x-seen-upgrade`: what arrived), then echo.
#   Every response carries `x-connection-request: N`: the how-manieth request of its connection it answers.
#   path starting /refuse         -> 400 "refused NAME" (keep-alive), whatever the request asked.
#   anything else                 -> 200 "plain NAME" (keep-alive).
import base64
import hashlib
import socket
import socketserver
import ssl
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_exact(sock, buf, n):
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        buf.extend(chunk)
    out = bytes(buf[:n])
    del buf[:n]
    return out


def read_head(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        buf.extend(chunk)
    end = buf.index(b"\r\n\r\n")
    head = bytes(buf[:end]).decode("latin-1")
    del buf[: end + 4]
    lines = head.split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), []).append(value.strip())
    return method, target, fields


def frame(opcode, payload, fin=True):
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        header = bytes([first, n])
    elif n < 65536:
        header = bytes([first, 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([first, 127]) + n.to_bytes(8, "big")
    return header + payload


def read_frame(sock, buf):
    b0, b1 = read_exact(sock, buf, 2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(read_exact(sock, buf, 2), "big")
    elif n == 127:
        n = int.from_bytes(read_exact(sock, buf, 8), "big")
    mask = read_exact(sock, buf, 4) if b1 & 0x80 else None
    payload = bytearray(read_exact(sock, buf, n))
    if mask:
        for i in range(n):
            payload[i] ^= mask[i % 4]
    return bool(b0 & 0x80), b0 & 0x0F, bytes(payload)


class Handler(socketserver.BaseRequestHandler):
    def respond(self, status, reason, body):
        self.request.sendall(
            f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\nx-upstream: {NAME}\r\n"
            f"x-connection-request: {self.served}\r\n\r\n".encode()
            + body
        )

    def handle(self):
        sock = self.request
        buf = bytearray()
        self.served = 0
        try:
            while True:
                method, target, fields = read_head(sock, buf)
                self.served += 1
                length = int(fields.get("content-length", ["0"])[0])
                read_exact(sock, buf, length)
                if target.startswith("/refuse"):
                    self.respond(400, "Bad Request", f"refused {NAME}".encode())
                    continue
                upgrade = ",".join(fields.get("upgrade", [])).lower()
                if "websocket" not in upgrade:
                    self.respond(200, "OK", f"plain {NAME}".encode())
                    continue
                key = fields["sec-websocket-key"][0].encode()
                accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
                seen_connection = ",".join(fields.get("connection", []))
                sock.sendall(
                    (
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Accept: {accept}\r\nx-upstream: {NAME}\r\n"
                        f"x-seen-connection: {seen_connection}\r\nx-seen-upgrade: {upgrade}\r\n"
                        f"x-connection-request: {self.served}\r\n\r\n"
                    ).encode()
                )
                self.echo(sock, buf)
                return
        except (EOFError, ConnectionError, OSError):
            return

    def echo(self, sock, buf):
        while True:
            fin, opcode, payload = read_frame(sock, buf)
            if opcode == 0x8:
                sock.sendall(frame(0x8, payload))
                sock.shutdown(socket.SHUT_WR)
                # Wait for the peer's end (or the proxy's), then close.
                while sock.recv(65536):
                    pass
                return
            if opcode == 0x9:
                sock.sendall(frame(0xA, payload))
                continue
            sock.sendall(frame(opcode, payload, fin))


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    tls = None

    def get_request(self):
        sock, address = super().get_request()
        if self.tls:
            sock = self.tls.wrap_socket(sock, server_side=True)
        return sock, address


if __name__ == "__main__":
    PORT = int(sys.argv[1])
    NAME = sys.argv[2]
    with Server(("127.0.0.1", PORT), Handler) as server:
        if len(sys.argv) > 4:
            server.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            server.tls.load_cert_chain(sys.argv[3], sys.argv[4])
        print("ready", flush=True)
        server.serve_forever()
