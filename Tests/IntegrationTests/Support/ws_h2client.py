#!/usr/bin/python3
"""A WebSocket client over HTTP/2 (RFC 8441 extended CONNECT) for Canarygate's tunnel tests.

Run with the system interpreter (Debian's python3-h2): /usr/bin/python3 ws_h2client.py PORT SCENARIO.
h2c with prior knowledge. Prints one JSON line and exits 0, or 1 with "error" on a surprise.

  echo      CONNECT :protocol websocket, then a text message, a 200 KiB binary message and a close
            frame, each echoed; then waits for the stream's end (the upstream closed after its close).
  protocol  CONNECT :protocol something-else: the status the proxy answers.
  plain     CONNECT without :protocol: the status the proxy answers.
  refuse    CONNECT :protocol websocket to /refuse (the upstream answers 400): the status.
  idle      CONNECT :protocol websocket, then nothing: how long until the proxy ends the stream.
  drain     CONNECT :protocol websocket, prints "open", waits for the proxy's GOAWAY (the test sends
            SIGTERM), echoes a message through the draining proxy, then how long until it closes.

Every socket read is bounded (10 s), and the whole run by --timeout; no sleeps.
"""

import socket
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings

from ws_frames import echo_messages, parse_frame, report, ws_frame


class Client:
    def __init__(self, port, deadline):
        self.deadline = deadline
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        # No outbound checks: h2 wants a :path on any CONNECT once the server enabled extended CONNECT,
        # and the `plain` scenario is the ordinary CONNECT (RFC 9113 §8.5) the proxy must refuse.
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8", validate_outbound_headers=False)
        self.conn = h2.connection.H2Connection(config)
        self.conn.initiate_connection()
        self.flush()
        self.remote_connect_protocol = None
        self.status = None
        self.headers = {}
        self.data = bytearray()
        self.ended = False
        self.reset = None
        self.raw = bytearray()
        self.goaway_at = None
        # Until the server's SETTINGS arrived, h2 will not send :protocol.
        while self.remote_connect_protocol is None:
            self.pump()

    def flush(self):
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def pump(self):
        if time.monotonic() > self.deadline:
            raise TimeoutError("scenario deadline")
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by the proxy")
        for event in self.conn.receive_data(self.without_goaway(chunk)):
            if isinstance(event, h2.events.RemoteSettingsChanged):
                setting = event.changed_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
                self.remote_connect_protocol = setting.new_value if setting else 0
            elif isinstance(event, h2.events.ResponseReceived):
                self.headers = dict(event.headers)
                self.status = int(self.headers[":status"])
            elif isinstance(event, h2.events.DataReceived):
                self.data.extend(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self.ended = True
            elif isinstance(event, h2.events.StreamReset):
                self.reset = event.error_code
        self.flush()

    def without_goaway(self, chunk):
        """The complete frames of chunk (and of what came before), GOAWAY taken out and noted: h2
        closes its connection on any GOAWAY, while a draining server still serves the open streams."""
        self.raw.extend(chunk)
        out = bytearray()
        while len(self.raw) >= 9:
            length = int.from_bytes(self.raw[0:3], "big")
            if len(self.raw) < 9 + length:
                break
            frame = bytes(self.raw[: 9 + length])
            del self.raw[: 9 + length]
            if frame[3] == 0x7:
                self.goaway_at = self.goaway_at or time.monotonic()
            else:
                out.extend(frame)
        return bytes(out)

    def connect(self, protocol, path="/chat"):
        headers = [(":method", "CONNECT")]
        if protocol is not None:
            headers.append((":protocol", protocol))
            headers += [(":scheme", "http"), (":path", path), (":authority", "example.test")]
        else:
            headers.append((":authority", "example.test:443"))
        headers.append(("sec-websocket-version", "13"))
        self.stream = self.conn.get_next_available_stream_id()
        self.conn.send_headers(self.stream, headers)
        self.flush()
        while self.status is None and self.reset is None:
            self.pump()

    def send(self, payload):
        """Sends within the flow-control windows, reading (and acknowledging) while they are shut."""
        view = memoryview(payload)
        while view:
            room = min(self.conn.local_flow_control_window(self.stream), self.conn.max_outbound_frame_size)
            if room <= 0:
                self.pump()
                continue
            self.conn.send_data(self.stream, bytes(view[:room]))
            self.flush()
            view = view[room:]

    def receive_frame(self):
        while True:
            parsed = parse_frame(self.data)
            if parsed:
                opcode, payload, used = parsed
                del self.data[:used]
                return opcode, payload
            if self.ended or self.reset is not None:
                raise ConnectionError("stream ended inside a frame")
            self.pump()


def run(port, scenario, result):
    client = Client(port, time.monotonic() + 20)
    result["enableConnectProtocol"] = client.remote_connect_protocol
    if scenario == "protocol":
        client.connect("something-else")
    elif scenario == "plain":
        client.connect(None)
    elif scenario == "refuse":
        client.connect("websocket", "/refuse")
    else:
        client.connect("websocket")
    result["status"] = client.status
    result["upstream"] = client.headers.get("x-upstream")
    result["connectionRequest"] = client.headers.get("x-connection-request")
    result["hasAccept"] = "sec-websocket-accept" in client.headers
    if scenario == "idle" and client.status == 200:
        opened = time.monotonic()
        while not client.ended and client.reset is None:
            client.pump()
        result["idleSeconds"] = time.monotonic() - opened
        result["reset"] = client.reset
    if scenario == "drain" and client.status == 200:
        print("open", flush=True)
        while client.goaway_at is None:
            client.pump()
        client.send(ws_frame(0x1, b"draining"))
        result["echoWhileDraining"] = client.receive_frame() == (0x1, b"draining")
        try:
            while not client.ended and client.reset is None:
                client.pump()
        except ConnectionError:
            pass
        result["closedAfterGoaway"] = time.monotonic() - client.goaway_at
    if scenario != "echo" or client.status != 200:
        return
    echo_messages(client.send, client.receive_frame, result)
    while not client.ended and client.reset is None:
        client.pump()
    result["ended"] = client.ended
    result["reset"] = client.reset


def main():
    port, scenario = int(sys.argv[1]), sys.argv[2]
    return report(lambda result: run(port, scenario, result))


if __name__ == "__main__":
    sys.exit(main())
