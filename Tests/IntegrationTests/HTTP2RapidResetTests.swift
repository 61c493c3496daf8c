// CVE-2023-44487 ("rapid reset"): a client that opens and resets streams far faster than any are answered loses its connection.
import Foundation
import Testing

/// Opens streams and resets each at once; prints the GOAWAY error code it got (or "none") and how
/// many streams it managed to open before the connection ended.
private let rapidResetClient = """
    import socket, sys
    import h2.config, h2.connection, h2.events, h2.errors
    sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    code, opened = "none", 0
    try:
        for batch in range(50):
            for _ in range(20):
                sid = conn.get_next_available_stream_id()
                conn.send_headers(sid, [(":method", "GET"), (":path", "/slow"), (":scheme", "http"), (":authority", "x")], end_stream=True)
                conn.reset_stream(sid, error_code=8)
                opened += 1
            sock.sendall(conn.data_to_send())
            sock.settimeout(0.05)
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            finally:
                sock.settimeout(10)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ConnectionTerminated):
                    code = h2.errors.ErrorCodes(event.error_code).name
            if code != "none":
                break
    except (OSError, h2.exceptions.ProtocolError) as error:
        pass
    print(code, opened)
    """

extension Integration {
    @Suite("HTTP/2 rapid reset")
    struct HTTP2RapidResetTests {
        @Test func resettingFarMoreStreamsThanAreAnsweredEndsTheConnection() throws {
            try H2Tools.requirePythonH2()
            let upstream = try H2Upstream.make()
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let run = try ChildProcess.run(H2Tools.python, ["-c", rapidResetClient, String(proxy.port)], timeout: 30)
                let words = run.stdout.split(separator: " ").map(String.init)
                #expect(words.first == "ENHANCE_YOUR_CALM", "\(run.stdout) \(run.stderr.suffix(500))")
                #expect(
                    (Int(words.last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 1000) < 1000,
                    "the connection was ended before the client's 1,000 resets")
                // Ordinary clients are unaffected.
                let ok = try ChildProcess.run(
                    H2Tools.curl,
                    [
                        "-s", "--http2-prior-knowledge", "--max-time", "5",
                        "http://127.0.0.1:\(proxy.port)/after",
                    ], timeout: 10)
                #expect(ok.status == 0)
            }
        }
    }
}
