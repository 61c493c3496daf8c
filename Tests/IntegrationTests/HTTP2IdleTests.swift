// The HTTP/2 idle timeout with streams still open: an answered stream whose client went silent, and a client that never opens its window but pings.
import Foundation
import Testing

/// Modes: "silent-after-answer" — a POST without END_STREAM to a path with no route, some body, the
/// 404 read, then silence; "ping-no-window" — a 16 KiB-window client fetching a large body, never
/// opening the window, pinging every 100 ms. Prints the seconds until the server closed (or "open").
private let idleClient = """
    import socket, sys, time
    import h2.config, h2.connection, h2.events
    mode, port = sys.argv[1], int(sys.argv[2])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    if mode == "ping-no-window":
        conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1000})
    sock.sendall(conn.data_to_send())
    if mode == "silent-after-answer":
        conn.send_headers(1, [(":method", "POST"), (":path", "/nowhere"), (":scheme", "http"), (":authority", "x")])
        conn.send_data(1, b"x" * 1000)
    else:
        conn.send_headers(1, [(":method", "GET"), (":path", "/big?bytes=1000000"), (":scheme", "http"), (":authority", "x")], end_stream=True)
    sock.sendall(conn.data_to_send())
    start = time.monotonic()
    sock.settimeout(0.1)
    next_ping = start
    while time.monotonic() - start < 8:
        if mode == "ping-no-window" and time.monotonic() >= next_ping:
            conn.ping(b"12345678")
            next_ping += 0.1
            try:
                sock.sendall(conn.data_to_send())
            except OSError:
                break
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not data:
            print("%.2f" % (time.monotonic() - start))
            sys.exit(0)
        try:
            conn.receive_data(data)
        except Exception:
            pass
        try:
            sock.sendall(conn.data_to_send())
        except OSError:
            break
    print("open")
    """

extension Integration {
    @Suite("HTTP/2 idle connections")
    struct HTTP2IdleTests {
        private func secondsUntilClosed(_ mode: String, port: UInt16) throws -> Double? {
            let run = try ChildProcess.run(H2Tools.python, ["-c", idleClient, mode, String(port)], timeout: 20)
            return Double(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }

        @Test func anAnsweredStreamWhoseClientWentSilentDoesNotKeepTheConnection() throws {
            try H2Tools.requirePythonH2()
            let upstream = try TestUpstream(text: "unreached")
            defer { upstream.stop() }
            let config = ProxyConfig(
                routes: [RouteSpec("api", pathPrefix: "/api", primary: ArmSpec("v1", upstream))],
                timeouts: ["idle": "500ms"])
            try withProxy(config) { proxy in
                let seconds = try secondsUntilClosed("silent-after-answer", port: proxy.port)
                #expect(
                    seconds.map { $0 < 3 } == true, "closed after \(seconds.map { "\($0) s" } ?? "never (8 s)") with a 500 ms idle timeout")
            }
        }

        @Test func aClientThatNeverOpensItsWindowIsClosedEvenIfItPings() throws {
            try H2Tools.requirePythonH2()
            let upstream = try H2Upstream.make()
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream, timeouts: ["idle": "500ms", "upstreamResponse": "500ms"])) { proxy in
                let seconds = try secondsUntilClosed("ping-no-window", port: proxy.port)
                #expect(
                    seconds.map { $0 < 4 } == true,
                    "closed after \(seconds.map { "\($0) s" } ?? "never (8 s)") while the window stayed shut")
            }
        }
    }
}
