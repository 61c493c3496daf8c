// HTTP/2 requests get the HTTP/1.1 parser's rules: a target, authority, method or field it refuses is refused on an h2c stream too, and never reaches the upstream.
import Foundation
import Testing

/// One connection per case (a case nghttp2 takes as a connection error cannot spoil the next):
/// the case's fields on stream 1 with END_STREAM, outgoing validation off so the bytes go as
/// given ("\u00e9" in the JSON is the byte 0xE9). Prints one JSON object: label → "status 400",
/// "reset PROTOCOL_ERROR", "goaway …" or "silent".
private let rulesClient = """
    import json, socket, sys
    import h2.config, h2.connection, h2.events
    port, cases = int(sys.argv[1]), json.loads(sys.argv[2])
    out = {}
    for label, fields in cases:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(
            client_side=True, validate_outbound_headers=False, normalize_outbound_headers=False,
            validate_inbound_headers=False))
        conn.initiate_connection()
        conn.send_headers(1, [(n.encode("latin-1"), v.encode("latin-1")) for n, v in fields], end_stream=True)
        sock.sendall(conn.data_to_send())
        result = "silent"
        try:
            while result == "silent":
                data = sock.recv(65536)
                if not data:
                    result = "closed"
                    break
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.ResponseReceived) and event.stream_id == 1:
                        result = "status " + dict(event.headers)[b":status"].decode()
                    elif isinstance(event, h2.events.StreamReset) and event.stream_id == 1:
                        result = "reset " + h2.errors.ErrorCodes(event.error_code).name
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        result = "goaway " + h2.errors.ErrorCodes(event.error_code).name
                sock.sendall(conn.data_to_send())
        except (OSError, h2.exceptions.ProtocolError) as error:
            result = result if result != "silent" else "error " + type(error).__name__
        sock.close()
        out[label] = result
    print(json.dumps(out))
    """

extension Integration {
    @Suite("HTTP/2 request rules")
    struct HTTP2RequestRulesTests {
        /// A request as pseudo-fields plus `extra`, each pseudo-field replaceable (nil value: left out).
        private static func request(
            method: String? = "GET", scheme: String? = "http", authority: String? = "x",
            path: String? = "/ok", _ extra: [(String, String)] = []
        ) -> [[String]] {
            let pseudo: [(String, String?)] = [(":method", method), (":scheme", scheme), (":authority", authority), (":path", path)]
            return pseudo.compactMap { name, value in value.map { [name, $0] } } + extra.map { [$0.0, $0.1] }
        }

        /// What the HTTP/1.1 parser refuses (RequestRejectionTests), sent as HTTP/2 fields. `strict`:
        /// nghttp2 lets it through, so the proxy's own answer is expected; the others may be reset
        /// by nghttp2 first (PROTOCOL_ERROR), which is as good.
        private static let cases: [(label: String, fields: [[String]], status: Int, strict: Bool)] = [
            ("fragment in :path", request(path: "/a#b"), 400, true),
            ("raw UTF-8 in :path", request(path: "/caf\u{00C3}\u{00A9}"), 400, true),
            ("raw byte 0xFF in :path", request(path: "/\u{00FF}"), 400, true),
            ("space in :path", request(path: "/a b"), 400, false),
            ("DEL in :path", request(path: "/a\u{7F}"), 400, false),
            ("asterisk :path for GET", request(path: "*"), 400, false),
            ("absolute-form :path", request(path: "http://x/a"), 400, false),
            ("non-http :scheme with a bare :path", request(scheme: "foo", path: "a"), 400, true),
            ("userinfo in :authority", request(authority: "u@x"), 400, true),
            ("unclosed IPv6 :authority", request(authority: "[::1"), 400, true),
            ("space in :authority", request(authority: "x y"), 400, false),
            ("userinfo in host", request(authority: nil, [("host", "u@x")]), 400, true),
            ("two host fields", request(authority: nil, [("host", "x"), ("host", "y")]), 400, false),
            ("delimiter in :method", request(method: "GE(T"), 400, false),
            ("CONNECT", request(method: "CONNECT", scheme: nil, path: nil), 501, false),
            ("control byte in a value", request([("x-a", "a\u{01}b")]), 400, false),
            ("DEL in a value", request([("x-a", "a\u{7F}b")]), 400, false),
            ("delimiter in a field name", request([("x(a", "1")]), 400, false),
        ]

        @Test func requestsTheHTTP1ParserRefusesAreRefusedOnTheirStreamAndNeverReachTheUpstream() throws {
            try H2Tools.requirePythonH2()
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let table = Self.cases.map { [$0.label, $0.fields] as [Any] }
                let json = String(decoding: try JSONSerialization.data(withJSONObject: table), as: UTF8.self)
                let run = try ChildProcess.run(H2Tools.python, ["-c", rulesClient, String(proxy.port), json], timeout: 60)
                let results = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [String: String] ?? [:]
                try #require(results.count == Self.cases.count, "client output: \(run.stdout) \(run.stderr.suffix(800))")
                for c in Self.cases {
                    let got = results[c.label] ?? "missing"
                    let answered = got == "status \(c.status)"
                    #expect(
                        answered || (!c.strict && got == "reset PROTOCOL_ERROR"),
                        "\(c.label): \(got), expected status \(c.status)\(c.strict ? "" : " or reset PROTOCOL_ERROR")")
                }
                #expect(upstream.requestCount == 0, "refused requests reached the upstream: \(upstream.requests.map(\.target))")

                // The rules refuse only what they should: a well-formed request passes, its host intact.
                let ok = try ChildProcess.run(
                    H2Tools.python,
                    [
                        "-c", rulesClient, String(proxy.port),
                        #"[["fine", [[":method","GET"],[":scheme","http"],[":authority","x:8080"],[":path","/a%20b?q=1&r=*"]]]]"#,
                    ],
                    timeout: 20)
                #expect(ok.stdout.contains(#""fine": "status 200""#), "\(ok.stdout) \(ok.stderr.suffix(500))")
                #expect(upstream.waitForRequests(1))
                #expect(upstream.requests.first?.target == "/a%20b?q=1&r=*")
                #expect(upstream.requests.first?.headers["host"] == "x:8080")
            }
        }
    }
}
