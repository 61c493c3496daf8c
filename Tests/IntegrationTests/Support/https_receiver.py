#!/usr/bin/env python3
# Purpose: an HTTPS receiver for notification tests: prints each POST as one JSON line and answers 200.
"""Usage: https_receiver.py PORT CERT KEY

Serves 127.0.0.1:PORT over TLS with CERT and KEY. Prints "ready" once listening, then for each POST one
line {"path": ..., "body": ...} (the body as text), flushed at once. Every request is answered 200.
"""
import http.server
import json
import ssl
import sys

port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        print(json.dumps({"path": self.path, "body": body}), flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", port), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
