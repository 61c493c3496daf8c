#!/usr/bin/python3
# An HTTP/1.1 backend for the judges' end-to-end tests: load-dependent latency and chosen shares of
# 404s, 500s, slow answers, hung requests and failure bursts. Standard library only.
#
# Usage: judge_backend.py [--port N] [--text NAME] [options]  — listens on 127.0.0.1:N (0, the
# default: an ephemeral port), prints "ready PORT" on stdout once listening, then serves until killed.
# Keep-alive HTTP/1.1 with Content-Length on every answer; one thread per connection.
#
# Every request (any method, any path but /_stats) gets, decided in this order:
#   burst     during a burst (see --burst-every) a 500 "NAME burst"
#   hang      --hang-percent of requests: no answer at all until the peer closes the connection
#             (or --hang-max-seconds pass; then the connection is closed unanswered)
#   404       --status-404-percent of requests: 404 "NAME not found"
#   500       --fail-percent of requests: 500 "NAME failed"
#   200       otherwise: 200 "NAME"
# Every answer comes after base-ms + per-inflight-ms x (requests in flight when it arrived, itself
# and hung ones excluded) milliseconds, plus slow-ms for --slow-percent of them: latency that grows
# with load, as a real service's does, so two identical backends given different shares of traffic
# differ.
# Percentages are per request, drawn with `random` (--seed makes the draws repeatable per process).
#
# Bursts: with --burst-every S --burst-length L, every request arriving while
# (wall-clock time - --burst-offset) mod S < L fails. The phase is the wall clock's, not the
# process's start, so two backends with the same options burst at the same moments (a shared
# dependency failing); a --burst-offset of S/2 on one of them puts their bursts apart.
#
# GET /_stats answers JSON counts (asked of the backend directly, never through the proxy):
# requests, by outcome, hung requests released by the peer going away, the most in flight seen.
# The process exits by itself once its parent is gone (a test run killed before it could stop it).
import argparse
import json
import os
import random
import select
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def parse_arguments():
    p = argparse.ArgumentParser(description="HTTP/1.1 test backend with load-dependent latency and chosen faults")
    p.add_argument("--port", type=int, default=0, help="127.0.0.1 port; 0: an ephemeral one (printed)")
    p.add_argument("--text", default="backend", help="the body of a 200; names the arm in every body")
    p.add_argument("--base-ms", type=float, default=0.0, help="latency of a request alone")
    p.add_argument("--per-inflight-ms", type=float, default=0.0, help="added per other request in flight")
    p.add_argument("--status-404-percent", type=float, default=0.0)
    p.add_argument("--fail-percent", type=float, default=0.0, help="answered 500")
    p.add_argument("--slow-percent", type=float, default=0.0, help="answered slow-ms later")
    p.add_argument("--slow-ms", type=float, default=0.0)
    p.add_argument("--hang-percent", type=float, default=0.0, help="never answered; released when the peer goes away")
    p.add_argument("--hang-max-seconds", type=float, default=60.0, help="a hung request's connection is closed after this")
    p.add_argument("--burst-every", type=float, default=0.0, help="seconds between burst starts; 0: no bursts")
    p.add_argument("--burst-length", type=float, default=0.0, help="seconds each burst lasts")
    p.add_argument("--burst-offset", type=float, default=0.0, help="seconds the bursts are shifted by")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--parent-pid", type=int, default=None, help="exit once this process is no longer our parent")
    return p.parse_args()


ARGS = parse_arguments()
RANDOM = random.Random(ARGS.seed)
LOCK = threading.Lock()
STATE = {
    "inflight": 0,
    "maxInflight": 0,
    "requests": 0,
    "ok": 0,
    "notFound": 0,
    "failed": 0,
    "burstFailed": 0,
    "slow": 0,
    "hung": 0,
    "hanging": 0,       # hung requests not yet released (not counted in "inflight")
    "hungReleased": 0,  # the peer closed the connection while its request hung
    "hungExpired": 0,   # --hang-max-seconds passed first
}


def chance(percent):
    return percent > 0 and RANDOM.random() * 100.0 < percent


def in_burst(now):
    if ARGS.burst_every <= 0 or ARGS.burst_length <= 0:
        return False
    return (now - ARGS.burst_offset) % ARGS.burst_every < ARGS.burst_length


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client says close
    disable_nagle_algorithm = True
    server_version = "judge-backend"

    def log_message(self, format, *args):  # no per-request lines (they would cost more than the answer)
        pass

    def answer(self, status, reason, body, content_type="text/plain"):
        data = body.encode()
        head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\n"
                f"content-length: {len(data)}\r\nx-backend: {ARGS.text}\r\n")
        if self.close_connection:
            head += "connection: close\r\n"
        self.wfile.write(head.encode() + b"\r\n" + data)  # one write: no Nagle/delayed-ACK stall between head and body

    def read_body(self):
        length = int(self.headers.get("content-length") or 0)
        if length > 0:
            self.rfile.read(length)

    def hang(self):
        """Holds the request unanswered until the peer closes the connection (or the cap passes)."""
        sock = self.connection
        deadline = time.monotonic() + ARGS.hang_max_seconds
        released = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            readable, _, _ = select.select([sock], [], [], min(remaining, 0.5))
            if not readable:
                continue
            # Readable: EOF or a reset (the peer went away), or a pipelined request, which ends the hang too.
            released = True
            break
        with LOCK:
            STATE["hungReleased" if released else "hungExpired"] += 1
        self.close_connection = True

    def handle_request(self):
        self.read_body()
        if self.path == "/_stats":
            with LOCK:
                body = json.dumps(STATE, sort_keys=True)
            self.answer(200, "OK", body, "application/json")
            return
        arrived = time.time()
        with LOCK:
            STATE["requests"] += 1
            # Every draw under the lock: `random` is shared by the connection threads.
            burst = in_burst(arrived)
            hung = not burst and chance(ARGS.hang_percent)
            not_found = not burst and not hung and chance(ARGS.status_404_percent)
            failed = not burst and not hung and not not_found and chance(ARGS.fail_percent)
            slow = not hung and chance(ARGS.slow_percent)
            if hung:
                # A hung request waits for nothing and costs nothing: it is not load, so it does not slow the
                # others (the hang shows as client aborts alone, not as latency).
                STATE["hung"] += 1
                STATE["hanging"] += 1
            else:
                others = STATE["inflight"]
                STATE["inflight"] += 1
                STATE["maxInflight"] = max(STATE["maxInflight"], STATE["inflight"])
            if burst:
                STATE["burstFailed"] += 1
            elif not_found:
                STATE["notFound"] += 1
            elif failed:
                STATE["failed"] += 1
            elif not hung:
                STATE["ok"] += 1
            if slow:
                STATE["slow"] += 1
        if hung:
            try:
                self.hang()
            finally:
                with LOCK:
                    STATE["hanging"] -= 1
            return
        try:
            delay_ms = ARGS.base_ms + ARGS.per_inflight_ms * others + (ARGS.slow_ms if slow else 0.0)
            if delay_ms > 0:
                time.sleep(delay_ms / 1000.0)
            if burst:
                self.answer(500, "Internal Server Error", f"{ARGS.text} burst")
            elif not_found:
                self.answer(404, "Not Found", f"{ARGS.text} not found")
            elif failed:
                self.answer(500, "Internal Server Error", f"{ARGS.text} failed")
            else:
                self.answer(200, "OK", ARGS.text)
        finally:
            with LOCK:
                STATE["inflight"] -= 1

    do_GET = handle_request
    do_POST = handle_request
    do_PUT = handle_request
    do_DELETE = handle_request

    def do_HEAD(self):
        self.answer(200, "OK", "")


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung request never keeps the process from exiting
    request_queue_size = 256


def exit_when_orphaned():
    """Ends the process once its parent (the test run) is gone, killed or crashed before it could stop us."""
    parent = ARGS.parent_pid if ARGS.parent_pid is not None else os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def main():
    threading.Thread(target=exit_when_orphaned, daemon=True).start()
    server = Server(("127.0.0.1", ARGS.port), Handler)
    print(f"ready {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
