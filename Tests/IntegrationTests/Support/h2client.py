#!/usr/bin/python3
"""A small, deterministic HTTP/2 client for Canarygate's edge-case integration tests.

Run with the system interpreter (Debian's python3-h2): /usr/bin/python3 h2client.py SCENARIO [options].
Each scenario drives one connection (h2c with prior knowledge, or TLS with ALPN h2 and no certificate
check), prints exactly one JSON line on stdout and exits:

  0  the scenario ran to its end (the JSON says what the server did; the Swift test judges it)
  1  a protocol surprise: an h2 protocol error, a socket error or timeout, a GOAWAY with an error
     code, the connection closing before the scenario could finish... The JSON line then has
     "ok": false and "error", plus whatever was observed up to that point.
  2  bad command line (argparse)

Every socket operation is bounded (--io-timeout, 10 s by default) and every scenario by an overall
deadline (--timeout), so the client never hangs. No sleeps: it only waits for frames (and, in
`abandon`, for the test's signal).

Request bodies are BodyPattern bytes (the same xorshift stream as BodyPattern.swift), so the test
upstream can check an upload byte for byte; response bodies are checked against the same pattern
("patternIntact"), which the test upstream's `.pattern` bodies produce.
"""

import argparse
import json
import signal
import socket
import ssl
import sys
import time
import traceback

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
from hpack import HeaderTuple, NeverIndexedHeaderTuple

FRAME_HEADER = 9
FRAME_GOAWAY = 0x7
CANCEL = h2.errors.ErrorCodes.CANCEL

# ---------------------------------------------------------------------------------------------
# BodyPattern (must match Tests/IntegrationTests/Support/BodyPattern.swift)


PERIOD = 65_521


def _pattern_block():
    state = 0x9E3779B9
    block = bytearray(PERIOD)
    for i in range(PERIOD):
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        block[i] = state & 0xFF
    return bytes(block)


_BLOCK = _pattern_block()
_DOUBLED = _BLOCK + _BLOCK


def pattern_bytes(offset, count):
    """Bytes [offset, offset + count) of the pattern stream."""
    out = bytearray()
    while len(out) < count:
        start = (offset + len(out)) % PERIOD
        n = min(count - len(out), PERIOD)
        out += _DOUBLED[start:start + n]
    return bytes(out)


class PatternCheck:
    """Whether everything consumed so far equals the pattern stream from offset 0."""

    def __init__(self):
        self.count = 0
        self.first_mismatch = None

    def consume(self, data):
        view = memoryview(data)
        done = 0
        while self.first_mismatch is None and done < len(view):
            start = (self.count + done) % PERIOD
            n = min(len(view) - done, PERIOD)
            if view[done:done + n] != _DOUBLED[start:start + n]:
                self.first_mismatch = self.count + done
            done += n
        self.count += len(view)

    @property
    def intact(self):
        return self.count > 0 and self.first_mismatch is None


# ---------------------------------------------------------------------------------------------
# The connection


class Surprise(Exception):
    """The server did something the scenario cannot continue after."""


def error_name(code):
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return "0x%x" % code


class Stream:
    KEEP = 4096  # body bytes kept for the JSON (the count and pattern check cover all of it)

    def __init__(self, sid, label, method, path):
        self.sid = sid
        self.label = label
        self.method = method
        self.path = path
        self.status = None
        self.headers = []
        self.informational = []
        self.trailers = []
        self.body = bytearray()
        self.body_bytes = 0
        self.pattern = PatternCheck()
        self.ended = False
        self.reset_by_server = None
        self.reset_by_client = None

    @property
    def done(self):
        return self.ended or self.reset_by_server is not None or self.reset_by_client is not None

    def json(self):
        return {
            "label": self.label,
            "streamId": self.sid,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "headers": [[n, v] for n, v in self.headers],
            "informational": self.informational,
            "trailers": [[n, v] for n, v in self.trailers],
            "bodyBytes": self.body_bytes,
            "body": self.body.decode("utf-8", "replace"),
            "patternIntact": self.pattern.intact,
            "patternFirstMismatch": self.pattern.first_mismatch,
            "ended": self.ended,
            "resetByServer": self.reset_by_server,
            "resetByClient": self.reset_by_client,
        }


class Client:
    """One HTTP/2 connection over a blocking socket, every operation bounded.

    GOAWAY frames are taken out of the byte stream before h2 sees them: h2 4.x moves its
    connection to CLOSED on any GOAWAY and then rejects the frames of streams the server is still
    finishing, which is exactly what a graceful drain sends. They are recorded in `goaways`.
    """

    def __init__(self, args, initial_window=None, lenient_headers=False):
        self.args = args
        self.started = time.monotonic()
        self.deadline = self.started + args.timeout
        self.goaways = []
        self.peer_closed = False
        self.peer_closed_at = None
        self.server_settings = {}
        self.streams = {}
        self.order = []
        self.window_waits = 0
        self._buffer = bytearray()
        # Called for each DataReceived; the default hands the window straight back.
        self.on_data = self._ack_at_once

        sock = socket.create_connection((args.host, args.port), timeout=args.io_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.alpn = None
        if args.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.set_alpn_protocols(["h2"])
            sock = context.wrap_socket(sock, server_hostname=args.sni)
            self.alpn = sock.selected_alpn_protocol()
            if self.alpn != "h2":
                raise Surprise("TLS handshake selected ALPN %r, not h2" % self.alpn)
        sock.settimeout(args.io_timeout)
        self.sock = sock

        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                           validate_inbound_headers=not lenient_headers,
                                           normalize_inbound_headers=not lenient_headers)
        self.conn = h2.connection.H2Connection(config=config)
        codes = h2.settings.SettingCodes
        local = {
            codes.MAX_CONCURRENT_STREAMS: 100,
            codes.MAX_HEADER_LIST_SIZE: 1 << 20,
            codes.ENABLE_PUSH: 0,
        }
        if initial_window is not None:
            local[codes.INITIAL_WINDOW_SIZE] = initial_window
        # Replaced before initiate_connection, so the first SETTINGS frame carries these values and
        # h2 applies them to every stream from the start.
        self.conn.local_settings = h2.settings.Settings(client=True, initial_values=local)
        self.conn.initiate_connection()
        self.flush()

    # -- time

    def elapsed(self):
        return round(time.monotonic() - self.started, 3)

    def remaining(self, deadline=None):
        return (deadline or self.deadline) - time.monotonic()

    # -- bytes

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            try:
                self.sock.sendall(data)
            except socket.timeout:
                raise Surprise("send timed out after %.1f s (the server stopped reading)" % self.args.io_timeout)
            except OSError as e:
                raise Surprise("send failed: %s" % e)

    def receive_once(self, deadline=None):
        """Reads once (bounded) and handles every complete frame. False when the peer closed."""
        if self.peer_closed:
            return False
        left = self.remaining(deadline)
        if left <= 0:
            raise Surprise("timed out")
        self.sock.settimeout(min(left, self.args.io_timeout))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Surprise("no bytes from the server for %.1f s" % min(left, self.args.io_timeout))
        except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            data = b""  # a reset or an unclean TLS close: closed all the same
        except OSError as e:
            raise Surprise("recv failed: %s" % e)
        if not data:
            self.peer_closed = True
            self.peer_closed_at = self.elapsed()
            return False
        self._buffer += data
        while len(self._buffer) >= FRAME_HEADER:
            length = int.from_bytes(self._buffer[0:3], "big")
            if len(self._buffer) < FRAME_HEADER + length:
                break
            frame = bytes(self._buffer[:FRAME_HEADER + length])
            del self._buffer[:FRAME_HEADER + length]
            if frame[3] == FRAME_GOAWAY and frame[5:9] == b"\0\0\0\0" and length >= 8:
                self._goaway(frame[FRAME_HEADER:])
                continue
            try:
                events = self.conn.receive_data(frame)
            except h2.exceptions.ProtocolError as e:
                self.flush_quietly()
                raise Surprise("h2 protocol error: %s: %s" % (type(e).__name__, e))
            for event in events:
                self._handle(event)
        self.flush()
        return True

    def flush_quietly(self):
        try:
            self.flush()
        except Surprise:
            pass

    def _goaway(self, payload):
        last = int.from_bytes(payload[0:4], "big") & 0x7FFFFFFF
        code = int.from_bytes(payload[4:8], "big")
        self.goaways.append({
            "lastStreamId": last,
            "error": error_name(code),
            "debug": payload[8:].decode("utf-8", "replace"),
            "at": self.elapsed(),
        })
        if code != 0:
            raise Surprise("GOAWAY %s (last stream %d): %s" % (error_name(code), last, payload[8:][:200]))

    def run_until(self, condition, what, deadline=None):
        """Receives until condition() holds. A close or a timeout first is a surprise."""
        while not condition():
            try:
                open_ = self.receive_once(deadline)
            except Surprise as e:
                raise Surprise("waiting for %s: %s" % (what, e))
            if not open_ and not condition():
                raise Surprise("the server closed the connection while waiting for %s" % what)

    def wait_for_settings(self):
        self.run_until(lambda: bool(self.server_settings), "the server's SETTINGS")

    # -- events

    def _handle(self, event):
        E = h2.events
        stream = self.streams.get(getattr(event, "stream_id", None) or -1)
        if isinstance(event, E.RemoteSettingsChanged):
            for code, change in event.changed_settings.items():
                try:
                    name = h2.settings.SettingCodes(code).name
                except ValueError:
                    name = "0x%x" % code
                self.server_settings[name] = change.new_value
            if not event.changed_settings:
                self.server_settings["(empty)"] = True
        elif isinstance(event, E.ResponseReceived):
            stream.headers = list(event.headers)
            stream.status = int(dict(event.headers).get(":status", "0"))
        elif isinstance(event, E.InformationalResponseReceived):
            stream.informational.append(int(dict(event.headers).get(":status", "0")))
        elif isinstance(event, E.TrailersReceived):
            stream.trailers = list(event.headers)
        elif isinstance(event, E.DataReceived):
            if stream is not None:
                stream.body_bytes += len(event.data)
                if len(stream.body) < Stream.KEEP:
                    stream.body += event.data[:Stream.KEEP - len(stream.body)]
                stream.pattern.consume(event.data)
                self.on_data(stream, event)
        elif isinstance(event, E.StreamEnded):
            if stream is not None:
                stream.ended = True
        elif isinstance(event, E.StreamReset):
            if stream is not None and event.remote_reset:
                stream.reset_by_server = error_name(event.error_code)
        elif isinstance(event, E.PushedStreamReceived):
            raise Surprise("server push although SETTINGS_ENABLE_PUSH is 0")
        elif isinstance(event, E.ConnectionTerminated):
            raise Surprise("unexpected ConnectionTerminated event")
        # SettingsAcknowledged, WindowUpdated, PingAckReceived, PriorityUpdated: nothing to do.

    def _ack_at_once(self, stream, event):
        self.conn.acknowledge_received_data(event.flow_controlled_length, stream.sid)

    # -- streams

    def open(self, path, method="GET", label=None, headers=(), end_stream=True, authority=None):
        sid = self.conn.get_next_available_stream_id()
        fields = [
            HeaderTuple(":method", method),
            HeaderTuple(":scheme", "https" if self.args.tls else "http"),
            HeaderTuple(":authority", authority or self.args.authority),
            HeaderTuple(":path", path),
        ] + list(headers)
        self.conn.send_headers(sid, fields, end_stream=end_stream)
        stream = Stream(sid, label or path, method, path)
        self.streams[sid] = stream
        self.order.append(stream)
        return stream

    def send_pattern(self, stream, count, end_stream=True):
        """Sends `count` pattern bytes on `stream`, as flow control allows, waiting for WINDOW_UPDATEs."""
        sent = 0
        while sent < count:
            window = self.conn.local_flow_control_window(stream.sid)
            n = min(window, self.conn.max_outbound_frame_size, count - sent)
            if n <= 0:
                self.window_waits += 1
                self.flush()
                before = window
                self.run_until(lambda: stream.done or self.conn.local_flow_control_window(stream.sid) > before,
                               "a WINDOW_UPDATE for stream %d (%d of %d body bytes sent)" % (stream.sid, sent, count))
                if stream.done:
                    raise Surprise("stream %d ended or was reset while its body was being sent (%d of %d bytes)"
                                   % (stream.sid, sent, count))
                continue
            last = sent + n == count
            self.conn.send_data(stream.sid, pattern_bytes(sent, n), end_stream=end_stream and last)
            sent += n
            if last or sent % (256 * 1024) < n:
                self.flush()
        if count == 0 and end_stream:
            self.conn.end_stream(stream.sid)
        self.flush()
        return sent

    def wait_done(self, streams, what=None):
        self.flush()
        self.run_until(lambda: all(s.done for s in streams),
                       what or "streams %s to finish" % [s.sid for s in streams])

    def close(self):
        try:
            self.conn.close_connection()
            self.flush()
        except Exception:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def report(self, **extra):
        out = {
            "ok": True,
            "alpn": self.alpn,
            "serverSettings": self.server_settings,
            "streams": [s.json() for s in self.order],
            "goaways": self.goaways,
            "peerClosed": self.peer_closed,
            "elapsed": self.elapsed(),
        }
        out.update(extra)
        return out


# ---------------------------------------------------------------------------------------------
# Scenarios. Each returns the JSON object to print; the Client is registered in `state` first, so
# a surprise still reports what was seen.


def parse_header(text):
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError("header %r is not NAME:VALUE" % text)
    return (name.strip().lower(), value.strip())


def scenario_request(args, state):
    """Concurrent requests on one connection (one per --path), optionally with a pattern body."""
    client = state["client"] = Client(args, initial_window=args.window, lenient_headers=args.lenient_headers)
    client.wait_for_settings()
    headers = [HeaderTuple(n, v) for n, v in args.header]
    if args.body_bytes is not None and args.content_length:
        headers.append(HeaderTuple("content-length", str(args.body_bytes)))
    has_body = args.body_bytes is not None
    streams = [client.open(path, method=args.method, headers=headers, end_stream=not has_body)
               for path in args.path]
    client.flush()
    if has_body:
        for stream in streams:
            client.send_pattern(stream, args.body_bytes)
    client.wait_done(streams)
    return client.report(windowWaits=client.window_waits)


def scenario_rst_isolation(args, state):
    """Stream A (a large body) is reset by the client mid-response; B (large) and C (small), opened with
    it, must finish intact, and D and E, opened after the reset, too."""
    client = state["client"] = Client(args)
    client.wait_for_settings()
    # A large connection window: stream A's unacknowledged bytes must not starve the others.
    client.conn.increment_flow_control_window(16 << 20)
    held = set()

    def ack_except_a(stream, event):
        if stream.sid in held:
            return  # A's stream window is never reopened: the server cannot finish it
        client.conn.acknowledge_received_data(event.flow_controlled_length, stream.sid)

    client.on_data = ack_except_a
    a = client.open(args.big_path, label="A")
    held.add(a.sid)
    b = client.open(args.big_path, label="B")
    c = client.open(args.path, label="C")
    client.flush()
    client.run_until(lambda: a.body_bytes > 0 or a.done, "the first DATA of stream A")
    if a.done:
        raise Surprise("stream A finished before it could be reset (ended=%s, reset=%s, %d bytes): use a larger body"
                       % (a.ended, a.reset_by_server, a.body_bytes))
    a_bytes = a.body_bytes
    client.conn.reset_stream(a.sid, CANCEL)
    a.reset_by_client = "CANCEL"
    client.flush()
    d = client.open(args.path, label="D")
    e = client.open(args.big_path, label="E")
    client.wait_done([b, c, d, e])
    # One more round trip on the same connection after everything else has settled.
    f = client.open(args.path, label="F")
    client.wait_done([f])
    return client.report(aBytesBeforeReset=a_bytes)


def scenario_flow_download(args, state):
    """Downloads with a small stream window (--window) and the default 65,535-byte connection window,
    handing the window back in --step increments as bytes arrive."""
    if not 0 < args.step <= args.window:
        raise Surprise("--step must be between 1 and --window")
    client = state["client"] = Client(args, initial_window=args.window)
    client.wait_for_settings()
    owed = {}
    owed_connection = [0]
    updates = [0]

    def slow_ack(stream, event):
        n = event.flow_controlled_length
        owed_connection[0] += n
        while owed_connection[0] >= args.step:
            client.conn.increment_flow_control_window(args.step)
            owed_connection[0] -= args.step
            updates[0] += 1
        if event.stream_ended is None:
            owed[stream.sid] = owed.get(stream.sid, 0) + n
            while owed[stream.sid] >= args.step:
                client.conn.increment_flow_control_window(args.step, stream.sid)
                owed[stream.sid] -= args.step
                updates[0] += 1

    client.on_data = slow_ack
    streams = [client.open(args.path, label="download%d" % i) for i in range(args.streams)]
    client.wait_done(streams)
    return client.report(windowUpdates=updates[0])


def scenario_flow_upload(args, state):
    """Uploads --bytes pattern bytes (no content-length unless --content-length), as flow control allows."""
    client = state["client"] = Client(args)
    client.wait_for_settings()
    headers = [HeaderTuple("content-type", "application/octet-stream")]
    if args.content_length:
        headers.append(HeaderTuple("content-length", str(args.bytes)))
    stream = client.open(args.path, method="POST", headers=headers, end_stream=False, label="upload")
    client.flush()
    initial_window = client.conn.local_flow_control_window(stream.sid)
    sent = client.send_pattern(stream, args.bytes)
    client.wait_done([stream])
    return client.report(bytesSent=sent, windowWaits=client.window_waits, initialSendWindow=initial_window)


def scenario_concurrency(args, state):
    """Holds MAX_CONCURRENT_STREAMS request streams open (POSTs whose body has not ended), opens one
    more, and reports what happened to it; then ends the held ones and opens a fresh stream."""
    client = state["client"] = Client(args)
    client.wait_for_settings()
    limit = client.conn.remote_settings.max_concurrent_streams
    state["extra"] = {"advertisedMaxConcurrentStreams": limit}
    if limit > 10_000:
        raise Surprise("the server advertises no usable SETTINGS_MAX_CONCURRENT_STREAMS (%d)" % limit)
    held = [client.open(args.hold_path, method="POST", label="held", end_stream=False) for _ in range(limit)]
    client.flush()
    # h2 refuses to exceed the peer's limit itself; lift its local copy so the extra stream goes out.
    client.conn.remote_settings._settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS][0] = limit + 1
    extra = client.open(args.extra_path, label="extra")
    client.flush()
    # The held streams cannot finish (their bodies are open): the extra stream's fate is all that can come.
    client.run_until(lambda: extra.done or any(s.done for s in held), "an answer to the stream beyond the limit",
                     deadline=time.monotonic() + args.answer_timeout)
    early = [s.sid for s in held if s.done]
    for stream in held:
        if not stream.done:
            client.conn.end_stream(stream.sid)
    client.wait_done(held, "the held streams' responses after their bodies ended")
    after = client.open(args.path, label="after")
    client.wait_done([after, extra])
    statuses = {}
    for stream in held:
        key = str(stream.status) if stream.status is not None else "reset:%s" % stream.reset_by_server
        statuses[key] = statuses.get(key, 0) + 1
    result = client.report(advertisedMaxConcurrentStreams=limit, heldStatuses=statuses,
                           heldFinishedEarly=early, extra=extra.json(), after=after.json())
    result["streams"] = [extra.json(), after.json()]  # the 100 held ones are summarised in heldStatuses
    return result


def scenario_large_headers(args, state):
    """Stream "big" carries --bytes of header fields (in fields of at most --field-size bytes, never
    indexed); stream "small", sent right after it, is ordinary; "after" is opened once both are done."""
    client = state["client"] = Client(args)
    client.wait_for_settings()
    fields = []
    left, i = args.bytes, 0
    while left > 0:
        n = min(args.field_size, left)
        fields.append(NeverIndexedHeaderTuple("x-big-%d" % i, "b" * n))
        left -= n
        i += 1
    big = client.open(args.path, label="big", headers=fields)
    small = client.open(args.path, label="small")
    client.wait_done([big, small])
    after = client.open(args.path, label="after")
    client.wait_done([after])
    return client.report(headerBytesSent=args.bytes, headerFields=len(fields))


def scenario_upstream_failure(args, state):
    """Stream "failing" goes to --fail-path (a dead upstream) together with "healthy"; "after" follows."""
    client = state["client"] = Client(args)
    client.wait_for_settings()
    failing = client.open(args.fail_path, label="failing")
    healthy = client.open(args.path, label="healthy")
    client.wait_done([failing, healthy])
    after = client.open(args.path, label="after")
    client.wait_done([after])
    return client.report()


def scenario_drain(args, state):
    """Opens a stream to --path (a slow response), then waits for the server's GOAWAY(s) and the
    response, then for the server to close the connection (--close-timeout). The test signals the
    server once the request reached the upstream."""
    client = state["client"] = Client(args)
    client.wait_for_settings()
    stream = client.open(args.path, label="inflight")
    client.flush()
    client.run_until(lambda: stream.done and client.goaways,
                     "a GOAWAY and the in-flight response")
    ended_at = client.elapsed()
    close_deadline = time.monotonic() + args.close_timeout
    try:
        while not client.peer_closed:
            client.receive_once(close_deadline)
    except Surprise as e:
        if client.goaways and any(g["error"] != "NO_ERROR" for g in client.goaways):
            raise
        state["extra"] = {"closeWait": str(e)}
    return client.report(streamDoneAt=ended_at, closedAt=client.peer_closed_at,
                         **state.get("extra", {}))


def scenario_abandon(args, state):
    """Opens stream "abandoned" to --path (an upstream that never answers) and waits for SIGUSR1, which
    the test sends once the request reached the upstream; then resets the stream (CANCEL) and opens
    stream "after" to --after-path, which must be answered on the same connection. With --close, the
    connection is closed (FIN, no GOAWAY) instead of the reset."""
    # Blocked before the request goes out, so the test's signal (sent once the upstream has it) is
    # waited for, never delivered with its default action.
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    client = state["client"] = Client(args)
    client.wait_for_settings()
    stream = client.open(args.path, label="abandoned")
    client.flush()
    if signal.sigtimedwait([signal.SIGUSR1], max(0.0, client.remaining())) is None:
        raise Surprise("no SIGUSR1 from the test before the deadline")
    if args.close:
        client.sock.close()
        client.peer_closed = True  # nothing more can be read; close() at exit finds the socket closed
        return client.report(closedByClient=True)
    client.conn.reset_stream(stream.sid, CANCEL)
    stream.reset_by_client = "CANCEL"
    client.flush()
    after = client.open(args.after_path, label="after")
    client.wait_done([after])
    return client.report()


SCENARIOS = {
    "request": scenario_request,
    "rst-isolation": scenario_rst_isolation,
    "flow-download": scenario_flow_download,
    "flow-upload": scenario_flow_upload,
    "concurrency": scenario_concurrency,
    "large-headers": scenario_large_headers,
    "upstream-failure": scenario_upstream_failure,
    "drain": scenario_drain,
    "abandon": scenario_abandon,
}


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--host", default="127.0.0.1")
    common.add_argument("--port", type=int, required=True)
    common.add_argument("--tls", action="store_true", help="TLS with ALPN h2 (no certificate check)")
    common.add_argument("--sni", default="localhost")
    common.add_argument("--authority", help=":authority (default HOST:PORT)")
    common.add_argument("--timeout", type=float, default=30, help="overall deadline, seconds")
    common.add_argument("--io-timeout", type=float, default=10, help="bound of each socket operation, seconds")

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="scenario", required=True)

    p = sub.add_parser("request", parents=[common], help="concurrent requests, one stream per --path")
    p.add_argument("--path", action="append", required=True)
    p.add_argument("--method", default="GET")
    p.add_argument("--header", action="append", type=parse_header, default=[], metavar="NAME:VALUE")
    p.add_argument("--body-bytes", type=int, help="send this many pattern bytes as each request's body")
    p.add_argument("--content-length", action="store_true", help="announce the body's length")
    p.add_argument("--window", type=int, help="SETTINGS_INITIAL_WINDOW_SIZE to advertise")
    p.add_argument("--lenient-headers", action="store_true",
                   help="accept (and report) response fields h2 would reject, e.g. connection-specific ones")

    p = sub.add_parser("rst-isolation", parents=[common], help="RST_STREAM one stream mid-response")
    p.add_argument("--big-path", required=True, help="a response body well over 64 KiB")
    p.add_argument("--path", default="/")

    p = sub.add_parser("flow-download", parents=[common], help="large download through a small window")
    p.add_argument("--path", required=True)
    p.add_argument("--window", type=int, default=16384)
    p.add_argument("--step", type=int, default=4096, help="WINDOW_UPDATE increment")
    p.add_argument("--streams", type=int, default=1)

    p = sub.add_parser("flow-upload", parents=[common], help="large upload, flow controlled")
    p.add_argument("--path", required=True)
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--content-length", action="store_true")

    p = sub.add_parser("concurrency", parents=[common], help="one stream beyond MAX_CONCURRENT_STREAMS")
    p.add_argument("--hold-path", required=True, help="POSTed with an unfinished body by the held streams")
    p.add_argument("--extra-path", default="/extra", help="the stream beyond the limit (must not reach the upstream)")
    p.add_argument("--path", default="/", help="the stream opened at the end")
    p.add_argument("--answer-timeout", type=float, default=5)

    p = sub.add_parser("large-headers", parents=[common], help="a header list over the server's limit")
    p.add_argument("--path", default="/")
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--field-size", type=int, default=4000)

    p = sub.add_parser("upstream-failure", parents=[common], help="one stream to a dead upstream")
    p.add_argument("--fail-path", required=True)
    p.add_argument("--path", default="/")

    p = sub.add_parser("abandon", parents=[common], help="reset (or close) while the response is awaited")
    p.add_argument("--path", required=True, help="a request the upstream never answers")
    p.add_argument("--after-path", default="/", help="the stream opened after the reset")
    p.add_argument("--close", action="store_true", help="close the connection instead of resetting the stream")

    p = sub.add_parser("drain", parents=[common], help="GOAWAY while a stream is in flight")
    p.add_argument("--path", required=True)
    p.add_argument("--close-timeout", type=float, default=5)
    return parser


def main():
    args = build_parser().parse_args()
    if args.authority is None:
        args.authority = "%s:%d" % (args.host, args.port)
    state = {}
    try:
        result = SCENARIOS[args.scenario](args, state)
        code = 0
    except Exception as e:  # anything at all: still one JSON line, with what was seen
        client = state.get("client")
        result = client.report() if client else {"streams": [], "goaways": []}
        result.update(state.get("extra", {}))
        result["ok"] = False
        if isinstance(e, Surprise):
            result["error"] = str(e)
        elif isinstance(e, (h2.exceptions.H2Error, OSError)):
            result["error"] = "%s: %s" % (type(e).__name__, e)
        else:
            result["error"] = "client bug? %s" % traceback.format_exc()
        code = 1
    finally:
        client = state.get("client")
        if client is not None:
            client.close()
    result["scenario"] = args.scenario
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
