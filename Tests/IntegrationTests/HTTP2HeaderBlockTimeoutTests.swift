// A header block the client never finishes (HEADERS without END_HEADERS) is bounded by timeouts.requestHeader, however it trickles.
import Foundation
import Testing

/// Raw frames: the preface, then a header block for stream 1 that ends inside a literal field
/// whose 4,000-byte value never completes. "unfinished-block": a whole HEADERS frame without
/// END_HEADERS, then silence; "trickled-frame": a HEADERS frame with END_HEADERS declaring the
/// whole block, its payload sent one byte every 100 ms. (Trickling CONTINUATION frames instead
/// is cut short by nghttp2 itself, which allows 8 per block.) Prints the seconds until the server
/// closed (or "open" after 8 s) and the GOAWAY code it sent, if any.
private let unfinishedBlockClient = """
    import socket, struct, sys, time
    mode, port = sys.argv[1], int(sys.argv[2])
    def frame(kind, flags, stream, payload):
        return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    block = bytes([0x82, 0x86, 0x84, 0x41, 0x01]) + b"x" + bytes([0x00, 0x03]) + b"x-a" + bytes([0x7F, 0xA1, 0x1E]) + b"a" * 10
    if mode == "unfinished-block":
        sock.sendall(b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" + frame(4, 0, 0, b"") + frame(1, 0x1, 1, block))
        rest = b""
    else:
        whole = frame(1, 0x5, 1, block + b"a" * 3990)
        sock.sendall(b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" + frame(4, 0, 0, b"") + whole[:9 + len(block)])
        rest = whole[9 + len(block):]
    start = time.monotonic()
    sock.settimeout(0.1)
    received, goaway, closed = b"", "none", None
    next_byte = start + 0.1
    while time.monotonic() - start < 8 and closed is None:
        if rest and time.monotonic() >= next_byte:
            next_byte += 0.1
            try:
                sock.sendall(rest[:1])
                rest = rest[1:]
            except OSError:
                closed = time.monotonic() - start
                break
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            data = b""
        if not data:
            closed = time.monotonic() - start
            break
        received += data
        while len(received) >= 9:
            length = int.from_bytes(received[0:3], "big")
            if len(received) < 9 + length:
                break
            if received[3] == 7 and length >= 8:
                goaway = str(int.from_bytes(received[13:17], "big"))
            received = received[9 + length:]
    print("open" if closed is None else "%.2f" % closed, goaway)
    """

extension Integration {
    @Suite("HTTP/2 unfinished header blocks")
    struct HTTP2HeaderBlockTimeoutTests {
        @Test(arguments: ["unfinished-block", "trickled-frame"])
        func anUnfinishedHeaderBlockClosesTheConnectionAfterTheRequestHeaderTimeout(mode: String) throws {
            try H2Tools.requirePythonH2()
            let upstream = try TestUpstream(text: "unreached")
            defer { upstream.stop() }
            // A long idle timeout: only the header timeout can end the connection within the client's 8 s.
            try withProxy(.single(primary: upstream, timeouts: ["requestHeader": "500ms", "idle": "60s"])) { proxy in
                let run = try ChildProcess.run(H2Tools.python, ["-c", unfinishedBlockClient, mode, String(proxy.port)], timeout: 20)
                let words = run.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                let seconds = words.first.flatMap(Double.init)
                #expect(
                    seconds.map { $0 < 4 } == true,
                    "\(mode): closed after \(words.first ?? "?") s with a 500 ms header timeout \(run.stderr.suffix(300))")
                // PROTOCOL_ERROR (1): the frames the client owes will never be read.
                #expect(words.last == "1", "\(mode): GOAWAY code \(words.last ?? "?")")
                #expect(upstream.requestCount == 0)
            }
        }
    }
}
