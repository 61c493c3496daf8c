#!/usr/bin/env python3
# Purpose: client for benchmarks/idle-memory.sh: warm-up requests, or N keep-alive connections left idle after one request each.
#
#   idle_clients.py warm --port P --requests 1000 --conns 8
#       1000 keep-alive GETs spread over 8 connections (each sends its next request when the
#       previous response is complete), then closes them. Prints "ok=… failed=…" on stdout.
#   idle_clients.py hold --port P --conns 5000 --inflight 16 --ready FILE --release FILE
#       Opens CONNS connections, at most INFLIGHT of them connecting/waiting for a response at a
#       time; each sends ONE "GET / HTTP/1.1" (keep-alive) and reads the full response, then is
#       left open and idle. Writes "ok=… failed=…" to FILE (the ready file) once every connection
#       is done, then waits until the release file exists (or --hold-max seconds) and closes all.
#   --tls (either mode): the connections speak TLS (stdlib ssl, no certificate or host name check,
#       ALPN http/1.1; handshake done non-blocking before the request). Used by tls-compare.sh.
#
# Stdlib only (socket + selectors + ssl, non-blocking). The open/request phase aborts after --timeout
# seconds (exit 2); the exit status is 1 if any connection failed.
import argparse
import os
import selectors
import socket
import ssl
import sys
import time

TLS_CONTEXT = None  # set by --tls: every new connection is wrapped in it

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: idle-memory\r\nAccept: */*\r\n\r\n"


class Conn:
    __slots__ = ("sock", "buf", "remaining", "status", "state")

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.remaining = REQUEST
        self.status = None
        self.state = "connecting"


def response_complete(buf):
    """Returns (complete, status) for one HTTP/1.1 response in buf (Content-Length or chunked)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False, None
    head = buf[:end].decode("latin-1").split("\r\n")
    try:
        status = int(head[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        return True, -1
    length, chunked = None, False
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    body = buf[end + 4:]
    if chunked:
        return body.endswith(b"0\r\n\r\n"), status
    return len(body) >= (length or 0), status


def new_conn(sel, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if TLS_CONTEXT is not None:
        # Wrapped before connecting; the handshake runs once the TCP connection is up.
        s = TLS_CONTEXT.wrap_socket(s, do_handshake_on_connect=False)
    c = Conn(s)
    err = s.connect_ex(("127.0.0.1", port))
    if err not in (0, 115):  # 115 = EINPROGRESS
        s.close()
        raise OSError(err, os.strerror(err))
    sel.register(s, selectors.EVENT_WRITE, c)
    return c


def run(port, total_conns, inflight, requests_per_conn, deadline):
    """Drives total_conns connections (inflight at a time), requests_per_conn requests each.
    Returns (ok_requests, failed_conns, open_socks) where open_socks are idle keep-alive sockets."""
    sel = selectors.DefaultSelector()
    started = 0
    active = 0
    ok = 0
    failed = 0
    idle = []
    done_requests = {}

    def finish(c, good):
        nonlocal active, failed
        sel.unregister(c.sock)
        active -= 1
        if good:
            idle.append(c.sock)
        else:
            failed += 1
            c.sock.close()

    while started < total_conns or active > 0:
        while started < total_conns and active < inflight:
            try:
                c = new_conn(sel, port)
                done_requests[id(c)] = 0
                active += 1
            except OSError as e:
                print(f"connect failed: {e}", file=sys.stderr)
                failed += 1
            started += 1
        now = time.monotonic()
        if now > deadline:
            print(f"timeout: {started} started, {active} still active, {len(idle)} idle, {failed} failed",
                  file=sys.stderr)
            for key in list(sel.get_map().values()):
                key.fileobj.close()
            for s in idle:
                s.close()
            sys.exit(2)
        for key, events in sel.select(timeout=min(1.0, deadline - now)):
            c = key.data
            try:
                if c.state == "connecting":
                    err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        print(f"connect error: {os.strerror(err)}", file=sys.stderr)
                        finish(c, False)
                        continue
                    c.state = "handshake" if TLS_CONTEXT is not None else "sending"
                if c.state == "handshake":
                    c.sock.do_handshake()  # raises SSLWantRead/WriteError until done
                    c.state = "sending"
                if c.state == "sending":
                    n = c.sock.send(c.remaining)
                    c.remaining = c.remaining[n:]
                    if not c.remaining:
                        c.state = "reading"
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                    continue
                # reading
                data = c.sock.recv(65536)
                if not data:
                    print("connection closed before a complete response", file=sys.stderr)
                    finish(c, False)
                    continue
                c.buf += data
                while TLS_CONTEXT is not None and c.sock.pending():
                    c.buf += c.sock.recv(65536)
                complete, status = response_complete(c.buf)
                if not complete:
                    continue
                if status != 200:
                    print(f"status {status}", file=sys.stderr)
                    finish(c, False)
                    continue
                ok += 1
                done_requests[id(c)] += 1
                if done_requests[id(c)] < requests_per_conn:
                    c.buf = b""
                    c.remaining = REQUEST
                    c.state = "sending"
                    sel.modify(c.sock, selectors.EVENT_WRITE, c)
                else:
                    finish(c, True)
            except ssl.SSLWantReadError:
                sel.modify(c.sock, selectors.EVENT_READ, c)  # TLS needs input first (handshake, tickets)
                continue
            except ssl.SSLWantWriteError:
                sel.modify(c.sock, selectors.EVENT_WRITE, c)
                continue
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                print(f"socket error: {e}", file=sys.stderr)
                finish(c, False)
    sel.close()
    return ok, failed, idle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["warm", "hold"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, required=True)
    ap.add_argument("--requests", type=int, default=1000, help="warm: total requests")
    ap.add_argument("--inflight", type=int, default=16, help="hold: connections being set up at once")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--ready")
    ap.add_argument("--release")
    ap.add_argument("--hold-max", type=float, default=60.0)
    ap.add_argument("--tls", action="store_true", help="TLS connections (no certificate verification)")
    a = ap.parse_args()
    if a.tls:
        global TLS_CONTEXT
        TLS_CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        TLS_CONTEXT.check_hostname = False
        TLS_CONTEXT.verify_mode = ssl.CERT_NONE
        TLS_CONTEXT.minimum_version = ssl.TLSVersion.TLSv1_2
        TLS_CONTEXT.set_alpn_protocols(["http/1.1"])
    deadline = time.monotonic() + a.timeout

    if a.mode == "warm":
        per = -(-a.requests // a.conns)
        ok, failed, idle = run(a.port, a.conns, a.conns, per, deadline)
        for s in idle:
            s.close()
        print(f"ok={ok} failed={failed}")
        sys.exit(1 if failed else 0)

    if not a.ready or not a.release:
        ap.error("hold needs --ready and --release")
    ok, failed, idle = run(a.port, a.conns, a.inflight, 1, deadline)
    tmp = a.ready + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"ok={ok} failed={failed} idle={len(idle)}\n")
    os.rename(tmp, a.ready)
    hold_until = time.monotonic() + a.hold_max
    while not os.path.exists(a.release) and time.monotonic() < hold_until:
        time.sleep(0.05)
    for s in idle:
        s.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
