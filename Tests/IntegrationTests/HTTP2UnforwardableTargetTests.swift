// HTTP/2 requests whose :path or :authority an HTTP/1.1 request line or Host cannot carry get a 400 and never reach the upstream.
import Testing

extension Integration {
    @Suite("HTTP/2 unforwardable targets")
    struct HTTP2UnforwardableTargets {
        /// nghttp2 lets both through (found by fuzz/run.sh http1-request); the proxy's own HTTP/1.1 parser refuses them.
        @Test func aFragmentInThePathOrUserinfoInTheAuthorityIsRefused() throws {
            let upstream = try TestUpstream { request in .text("reached \(request.target)") }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let fragment = try H2Client.run("request", port: proxy.port, ["--path", "/a#b"])
                #expect(fragment.stream("/a#b")?.status == 400, "\(fragment)")
                let userinfo = try H2Client.run("request", port: proxy.port, ["--path", "/u", "--authority", "user@a.example"])
                #expect(userinfo.stream("/u")?.status == 400, "\(userinfo)")
                // A well-formed request on the same proxy still goes through.
                let fine = try H2Client.run("request", port: proxy.port, ["--path", "/ok"])
                #expect(fine.stream("/ok")?.succeeded() == true, "\(fine)")
                #expect(upstream.requestCount == 1, "the upstream saw \(upstream.requests.map(\.target))")
            }
        }
    }
}
