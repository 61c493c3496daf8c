// An HPACK bomb (one 4,000-byte table entry referenced 131,068 times per header block) is reset soon past the header list limit, without decoding the rest.
import Foundation
import Testing

/// Raw frames on one connection: `blocks` requests whose header block references one 4,000-byte
/// dynamic table entry 131,068 times (~529 MB of fields from ~131 KB), each answered before the
/// next is sent; then a head merely over the limit (6 references: 24 KB against 16 KiB), then one
/// ordinary GET. Prints JSON: each bomb stream's outcome ("status 431", "reset CODE"), the other
/// two streams' outcomes, and the proxy's CPU seconds (utime + stime from /proc/PID/stat) spent
/// over the bombs.
private let hpackBombClient = """
    import json, os, socket, struct, sys, time
    import hpack
    port, pid, blocks = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    def frame(kind, flags, stream, payload):
        return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload
    def block_frames(stream, block, end_stream=True):
        chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)]
        out = b""
        for i, chunk in enumerate(chunks):
            flags = (0x4 if i == len(chunks) - 1 else 0) | (0x1 if i == 0 and end_stream else 0)
            out += frame(1 if i == 0 else 9, flags, stream, chunk)
        return out
    def cpu():
        fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    # :method GET, :scheme http, :path /, :authority x (literal, not indexed: the entry below stays index 62).
    head = bytes([0x82, 0x86, 0x84, 0x01, 0x01]) + b"x"
    entry = bytes([0x40, 0x03]) + b"x-b" + bytes([0x7F, 0xA1, 0x1E]) + b"b" * 4000
    refs = bytes([0xBE]) * 131068
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" + frame(4, 0, 0, b""))
    decoder, pending, outcomes = hpack.Decoder(), b"", {}
    decoder.max_allowed_table_size = 65536
    def pump(until_stream):
        global pending
        deadline = time.monotonic() + 10
        while until_stream not in outcomes and time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                outcomes.setdefault(until_stream, "closed")
                return
            pending += data
            while len(pending) >= 9 and len(pending) >= 9 + int.from_bytes(pending[0:3], "big"):
                length, kind, flags = int.from_bytes(pending[0:3], "big"), pending[3], pending[4]
                stream = int.from_bytes(pending[5:9], "big") & 0x7FFFFFFF
                payload, pending = pending[9:9 + length], pending[9 + length:]
                if kind == 4 and not flags & 1:
                    sock.sendall(frame(4, 1, 0, b""))
                elif kind == 1:
                    fields = dict(decoder.decode(payload, raw=True))
                    outcomes.setdefault(stream, "status " + fields[b":status"].decode())
                elif kind == 3:
                    outcomes.setdefault(stream, "reset %d" % int.from_bytes(payload[0:4], "big"))
                elif kind == 7:
                    outcomes.setdefault(until_stream, "goaway %d" % int.from_bytes(payload[4:8], "big"))
    before = cpu()
    for i in range(blocks):
        stream = 1 + 2 * i
        sock.sendall(block_frames(stream, head + (entry if i == 0 else b"") + refs))
        pump(stream)
    spent = cpu() - before
    modest, after = 1 + 2 * blocks, 3 + 2 * blocks
    sock.sendall(block_frames(modest, head + bytes([0xBE]) * 6))
    pump(modest)
    sock.sendall(block_frames(after, head))
    pump(after)
    print(json.dumps({"bombs": [outcomes.get(1 + 2 * i, "none") for i in range(blocks)], "modest": outcomes.get(modest, "none"),
                      "after": outcomes.get(after, "none"), "cpuSeconds": spent}))
    """

extension Integration {
    @Suite("HTTP/2 HPACK bomb")
    struct HTTP2HPACKBombTests {
        @Test func aHeaderBlockFarOverTheLimitIsResetWithoutDecodingTheRestAndTheConnectionLives() throws {
            try H2Tools.requirePythonH2()
            let upstream = try TestUpstream(text: "ok")
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let blocks = 20
                let run = try ChildProcess.run(
                    H2Tools.python, ["-c", hpackBombClient, String(proxy.port), String(proxy.pid), String(blocks)],
                    timeout: 120)
                let json = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [String: Any] ?? [:]
                let bombs = json["bombs"] as? [String] ?? []
                try #require(bombs.count == blocks, "client output: \(run.stdout) \(run.stderr.suffix(800))")
                for (i, outcome) in bombs.enumerated() {
                    // Decoding stops within a few fields: nghttp2 resets the stream (INTERNAL_ERROR, 2).
                    #expect(outcome == "reset 2", "bomb \(i): \(outcome)")
                }
                // A head only somewhat over the limit is decoded to its end and answered.
                #expect(json["modest"] as? String == "status 431", "the modestly oversized head: \(json["modest"] ?? "?")")
                #expect(json["after"] as? String == "status 200", "the connection after the bombs: \(json["after"] ?? "?")")
                #expect(upstream.requestCount == 1)
                // Measured: 0.15–0.18 s of CPU per block while every field was checked; a few ms once
                // decoding stops at the limit. The bound is loose: it only catches the unbounded kind.
                let cpu = (json["cpuSeconds"] as? NSNumber)?.doubleValue ?? .infinity
                #expect(cpu < 0.04 * Double(blocks), "\(cpu) s of proxy CPU for \(blocks) bombs")
            }
        }
    }
}
