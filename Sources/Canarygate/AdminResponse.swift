// An admin API answer: always complete, always `Connection: close`; or the go-ahead for an event stream.

struct AdminResponse {
    var status: String
    var contentType = "text/plain"
    var body: String
    var extraHeaders: [(String, String)] = []
    /// GET /events passed the access rules with this credential: the loop sends the stream's head and messages
    /// instead of this, for as long as the credential holds.
    var eventStream: EventStreamCredential? = nil

    static func eventStream(_ credential: EventStreamCredential) -> AdminResponse {
        AdminResponse(status: "200 OK", body: "", eventStream: credential)
    }

    var bytes: [UInt8] {
        // nosniff: a refusal quotes the request's Host or Origin, and must stay plain text whoever loads it.
        var head =
            "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nX-Content-Type-Options: nosniff\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n"
        for (name, value) in extraHeaders { head += "\(name): \(value)\r\n" }
        return Array((head + "\r\n" + body).utf8)
    }
}
