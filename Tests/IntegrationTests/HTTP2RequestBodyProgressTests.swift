// A request body that stalls is ended per stream (408, upstream connection released), while one that keeps the minimum rate completes.
import Foundation
import Testing

/// On one connection: `stalled` POST streams declaring 1,000 bytes and sending none, and one
/// "steady" POST of 2,400 bytes sent 100 bytes every 100 ms (1,000 B/s, above the default
/// 256 B/s). Prints JSON: the stalled streams' statuses (or reset codes) with the seconds each
/// took, and the steady stream's status.
private let stallClient = """
    import json, socket, sys, time
    import h2.config, h2.connection, h2.events, h2.errors
    port, stalled = int(sys.argv[1]), int(sys.argv[2])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    start = time.monotonic()
    stalled_ids = []
    for i in range(stalled):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "POST"), (":path", "/stall/%d" % i), (":scheme", "http"), (":authority", "x"),
                                ("content-length", "1000")])
        stalled_ids.append(sid)
    steady = conn.get_next_available_stream_id()
    conn.send_headers(steady, [(":method", "POST"), (":path", "/steady"), (":scheme", "http"), (":authority", "x"),
                               ("content-length", "2400")])
    sock.sendall(conn.data_to_send())
    outcomes, sent, next_send = {}, 0, start
    sock.settimeout(0.05)
    while time.monotonic() - start < 12 and len(outcomes) < stalled + 1:
        if sent < 2400 and steady not in outcomes and time.monotonic() >= next_send:
            next_send += 0.1
            conn.send_data(steady, b"s" * 100, end_stream=(sent + 100 == 2400))
            sent += 100
            sock.sendall(conn.data_to_send())
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        if not data:
            break
        for event in conn.receive_data(data):
            at = round(time.monotonic() - start, 2)
            if isinstance(event, h2.events.ResponseReceived):
                outcomes[event.stream_id] = ["status " + dict(event.headers)[b":status"].decode(), at]
            elif isinstance(event, h2.events.StreamReset) and event.stream_id not in outcomes:
                outcomes[event.stream_id] = ["reset " + h2.errors.ErrorCodes(event.error_code).name, at]
        sock.sendall(conn.data_to_send())
    print(json.dumps({"stalled": [outcomes.get(s, ["none", None]) for s in stalled_ids],
                      "steady": outcomes.get(steady, ["none", None]), "sent": sent}))
    """

extension Integration {
    @Suite("HTTP/2 request body progress")
    struct HTTP2RequestBodyProgressTests {
        @Test func stalledBodiesGet408AndReleaseTheirUpstreamsWhileASteadyOneCompletes() throws {
            try H2Tools.requirePythonH2()
            let upstream = try TestUpstream(text: "received")
            defer { upstream.stop() }
            let stalled = 10
            // The upstream response timeout stays long: only the body deadline may end the stalled streams.
            let config = ProxyConfig.single(primary: upstream, timeouts: ["requestBody": "1s", "upstreamResponse": "30s", "idle": "30s"])
            try withProxy(config) { proxy in
                let run = try ChildProcess.run(H2Tools.python, ["-c", stallClient, String(proxy.port), String(stalled)], timeout: 30)
                let json = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [String: Any] ?? [:]
                let outcomes = json["stalled"] as? [[Any]] ?? []
                try #require(outcomes.count == stalled, "client output: \(run.stdout) \(run.stderr.suffix(800))")
                for (i, outcome) in outcomes.enumerated() {
                    let what = outcome.first as? String ?? "?"
                    let at = (outcome.last as? NSNumber)?.doubleValue
                    #expect(what == "status 408", "stalled stream \(i): \(what)")
                    // One 1 s window with no byte, and the deadline list's granularity: well within 5 s.
                    #expect(at.map { $0 < 5 } == true, "stalled stream \(i) ended after \(at.map { "\($0) s" } ?? "never (12 s)")")
                }
                let steady = json["steady"] as? [Any]
                #expect(steady?.first as? String == "status 200", "the steady upload (\(json["sent"] ?? "?") bytes sent): \(steady ?? [])")
                // The stalled exchanges' upstream connections were closed, not pooled: at most the
                // steady upload's connection stays (idle in the pool).
                #expect(
                    upstream.waitForOpenConnections(atMost: 1, timeout: 5),
                    "\(upstream.openConnections) upstream connections still open")
                let steadySeen = upstream.requests.first { $0.path == "/steady" }
                #expect(steadySeen?.complete == true && steadySeen?.bodyCount == 2400, "\(String(describing: steadySeen))")
                #expect(upstream.requests.filter { $0.path.hasPrefix("/stall/") }.allSatisfy { !$0.complete })
            }
        }

        /// An 8 MiB upload to an upstream that stops reading for 2.5 s after 64 KiB: once the socket
        /// buffers fill, received bytes wait for the upstream and the client's window stays shut. That
        /// wait is the upstream's: five 500 ms windows pass without a byte, and the upload completes.
        @Test func timeBlockedOnTheUpstreamIsNotTheClients() throws {
            try H2Tools.requirePythonH2()
            let size = 8 << 20
            let upstream = try TestUpstream { _ in
                .respond(UpstreamResponse(body: .fixed("done".bytes), pauseReading: ReadPause(afterBytes: 1 << 16, seconds: 2.5)))
            }
            defer { upstream.stop() }
            let config = ProxyConfig.single(primary: upstream, timeouts: ["requestBody": "500ms", "upstreamResponse": "10s"])
            try withProxy(config) { proxy in
                let run = try H2Client.run(
                    "flow-upload", port: proxy.port, ["--path", "/big", "--bytes", String(size), "--content-length"])
                try #require(run.ok, "\(run)")
                let response = try #require(run.stream("upload"))
                #expect(response.succeeded() && response.body == "done", "\(response)")
                #expect(upstream.waitForRequests(1))
                #expect(upstream.requests.first?.bodyCount == size)
            }
        }
    }
}
