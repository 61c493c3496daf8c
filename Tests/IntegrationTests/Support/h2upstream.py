#!/usr/bin/python3
# An HTTP/2 (h2c, prior knowledge) test upstream speaking gRPC-style: trailers with grpc-status, echoes, large bodies.
#
# Usage: h2upstream.py [--grpc-fail-percent=P] PORT NAME [CERT KEY]  — prints "ready PORT" once
# listening, then serves until killed; with CERT and KEY (PEM) it speaks TLS and selects "h2" by ALPN.
# --grpc-fail-percent=P: /grpc/ calls without x-grpc-status fail with UNAVAILABLE (14), P in 100,
# spread evenly (error diffusion, so any window of calls has its share).
# Every response carries `x-upstream: NAME`. By path:
#   /grpc/...   content-type application/grpc, body = the request body, trailers
#               grpc-status = the request's `x-grpc-status` field (default 0), grpc-message "from NAME"
#   /big/N      N bytes of 'b' (flow control through the proxy)
#   /echo...    JSON of what arrived: method, path, fields, body length, trailers
#   /reset      RST_STREAM(INTERNAL_ERROR) after the head
#   /reset-before-head  RST_STREAM(INTERNAL_ERROR) instead of any response
#   /slow       "slow done" one second later (other streams go on meanwhile)
#   /refuse-once/...  the first such request (per path) is refused with RST_STREAM(REFUSED_STREAM)
#               unprocessed; the next is answered like /grpc/ (the count is in the response's
#               `x-attempts` field, the traceparent of the first attempt and of this one in
#               `x-first-traceparent` and `x-traceparent`)
# A HEAD request gets the head its GET would get, ending the stream (no DATA).
# Each connection is served by its own thread; the h2 state machine is driven by this loop.
import json
import select
import socket
import ssl
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions


REFUSED = {}  # path -> attempts seen (shared by all connections)
FIRST_TRACEPARENT = {}  # path -> the traceparent its refused first attempt carried
FAIL_PERCENT = 0
FAIL_CREDIT = [0]  # error-diffusion accumulator for --grpc-fail-percent (shared by all connections)
FAIL_LOCK = threading.Lock()


def grpc_code(fields):
    if "x-grpc-status" in fields:
        return fields["x-grpc-status"]
    with FAIL_LOCK:
        FAIL_CREDIT[0] += FAIL_PERCENT
        if FAIL_CREDIT[0] >= 100:
            FAIL_CREDIT[0] -= 100
            return "14"
    return "0"


def serve(sock, name):
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False, validate_inbound_headers=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    requests = {}   # stream id -> {"headers": [...], "body": bytearray}
    pending = {}    # stream id -> [remaining bytes, trailers or None]
    delayed = []    # (due time, stream id) of /slow responses

    def flush_pending():
        for sid in list(pending):
            data, trailers = pending[sid]
            while data:
                window = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
                if window <= 0:
                    break
                chunk, data = data[:window], data[window:]
                conn.send_data(sid, chunk)
            pending[sid][0] = data
            if not data:
                if trailers is not None:
                    conn.send_headers(sid, trailers, end_stream=True)
                else:
                    conn.end_stream(sid)
                del pending[sid]

    def respond(sid):
        req = requests.pop(sid)
        fields = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v for k, v in req["headers"]}
        path = fields.get(":path", "")
        body = bytes(req["body"])
        base = [("x-upstream", name)]
        if path.startswith("/refuse-once/"):
            REFUSED[path] = REFUSED.get(path, 0) + 1
            if REFUSED[path] == 1:
                FIRST_TRACEPARENT[path] = fields.get("traceparent", "")
                conn.reset_stream(sid, error_code=7)
                return
            base = base + [("x-attempts", str(REFUSED[path])),
                           ("x-first-traceparent", FIRST_TRACEPARENT.get(path, "")),
                           ("x-traceparent", fields.get("traceparent", ""))]
        if path.startswith("/grpc/") or path.startswith("/refuse-once/"):
            conn.send_headers(sid, [(":status", "200"), ("content-type", "application/grpc")] + base)
            code = grpc_code(fields)
            pending[sid] = [body, [("grpc-status", code), ("grpc-message", "from " + name)]]
        elif path.startswith("/big/"):
            n = int(path[5:])
            conn.send_headers(sid, [(":status", "200"), ("content-length", str(n))] + base)
            pending[sid] = [b"b" * n, None]
        elif path.startswith("/slow"):
            delayed.append((time.monotonic() + 1.0, sid))
        elif path.startswith("/reset-before-head"):
            conn.reset_stream(sid, error_code=2)
        elif path.startswith("/reset"):
            conn.send_headers(sid, [(":status", "200")] + base)
            conn.reset_stream(sid, error_code=2)
        else:
            doc = json.dumps({"method": fields.get(":method"), "path": path, "authority": fields.get(":authority"),
                              "fields": [[k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v]
                                         for k, v in req["headers"]],
                              "bodyLength": len(body),
                              "trailers": [[k.decode() if isinstance(k, bytes) else k, v.decode() if isinstance(v, bytes) else v]
                                           for k, v in req.get("trailers", [])]}).encode() + b"\n"
            conn.send_headers(sid, [(":status", "200"), ("content-type", "application/json"), ("content-length", str(len(doc)))] + base)
            pending[sid] = [doc, None]
        if fields.get(":method") == "HEAD" and sid in pending:
            del pending[sid]
            conn.end_stream(sid)

    def send_due():
        now = time.monotonic()
        for due, sid in [d for d in delayed if d[0] <= now]:
            delayed.remove((due, sid))
            conn.send_headers(sid, [(":status", "200"), ("content-length", "9"), ("x-upstream", name)])
            pending[sid] = [b"slow done", None]

    try:
        while True:
            wait = max(0.0, min(d[0] for d in delayed) - time.monotonic()) if delayed else None
            # Decrypted bytes already inside the TLS object do not make the socket readable.
            buffered = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
            readable = [sock] if buffered else select.select([sock], [], [], wait)[0]
            if not readable:
                send_due()
                flush_pending()
                sock.sendall(conn.data_to_send())
                continue
            data = sock.recv(65536)
            if not data:
                return
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    requests[event.stream_id] = {"headers": event.headers, "body": bytearray()}
                elif isinstance(event, h2.events.DataReceived):
                    if event.stream_id in requests:
                        requests[event.stream_id]["body"] += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.TrailersReceived):
                    if event.stream_id in requests:
                        requests[event.stream_id]["trailers"] = event.headers
                elif isinstance(event, h2.events.StreamEnded):
                    if event.stream_id in requests:
                        respond(event.stream_id)
                elif isinstance(event, h2.events.StreamReset):
                    requests.pop(event.stream_id, None)
                    pending.pop(event.stream_id, None)
                elif isinstance(event, h2.events.ConnectionTerminated):
                    sock.sendall(conn.data_to_send())
                    return
            send_due()
            flush_pending()
            sock.sendall(conn.data_to_send())
    except (OSError, h2.exceptions.ProtocolError):
        return
    finally:
        sock.close()


def main():
    global FAIL_PERCENT
    args = [a for a in sys.argv[1:] if not a.startswith("--grpc-fail-percent=")]
    for a in sys.argv[1:]:
        if a.startswith("--grpc-fail-percent="):
            FAIL_PERCENT = int(a.split("=", 1)[1])
    sys.argv = [sys.argv[0]] + args
    port, name = int(sys.argv[1]), sys.argv[2]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    context = None
    if len(sys.argv) > 4:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        context.set_alpn_protocols(["h2"])
    print("ready", listener.getsockname()[1], flush=True)
    while True:
        sock, _ = listener.accept()
        if context is not None:
            try:
                sock = context.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError):
                sock.close()
                continue
        threading.Thread(target=serve, args=(sock, name), daemon=True).start()


if __name__ == "__main__":
    main()
