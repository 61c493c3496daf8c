// Content-Length as relayed: identical values (a list, repeated fields, leading zeros) leave as one canonical field; differing ones are refused.
import Foundation
import Testing

extension Integration {
    @Suite("Content-Length as relayed")
    struct ContentLengthRelay {
        @Test func identicalContentLengthsReachTheUpstreamAsOneField() throws {
            let upstream = try TestUpstream { _ in .text("ok") }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let client = try proxy.client(timeout: 3)
                for headers in [
                    [HTTPField("Content-Length", "5, 5"), HTTPField("Content-Length", "5")],
                    [HTTPField("Content-Length", "005")], [HTTPField("Content-Length", "5,5")],
                ] {
                    let response = try client.exchange(HTTPText.request("POST", "/cl", headers: headers, body: Array("hello".utf8)))
                    #expect(response.status == 200, "\(headers): \(response.status)")
                }
                #expect(upstream.requests.count == 3)
                for seen in upstream.requests {
                    #expect(
                        seen.headers.filter { $0.name.lowercased() == "content-length" }.map(\.value) == ["5"],
                        "upstream saw \(seen.headers)")
                    #expect(seen.bodyText == "hello")
                }
                let differing = try proxy.fetch(
                    HTTPText.request(
                        "POST", "/cl", headers: [HTTPField("Content-Length", "5, 6")], body: Array("hello!".utf8)))
                #expect(differing.status == 400)
                #expect(upstream.requests.count == 3)
            }
        }

        @Test func identicalContentLengthsReachTheClientAsOneField() throws {
            let upstream = try TestUpstream { request in
                request.path == "/differ"
                    ? .raw(Array("HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok".utf8))
                    : .raw(Array("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 02\r\n\r\nok".utf8))
            }
            defer { upstream.stop() }
            try withProxy(.single(primary: upstream)) { proxy in
                let response = try proxy.fetch(HTTPText.request("GET", "/same"))
                #expect(response.status == 200)
                #expect(
                    response.headers.filter { $0.name.lowercased() == "content-length" }.map(\.value) == ["2"],
                    "client saw \(response.headers)")
                #expect(response.text == "ok")
                #expect(try proxy.fetch(HTTPText.request("GET", "/differ")).status == 502)
            }
        }
    }
}
