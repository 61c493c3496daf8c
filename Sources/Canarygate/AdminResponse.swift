// An admin API answer: always complete, always `Connection: close`.

struct AdminResponse {
    var status: String
    var contentType = "text/plain"
    var body: String

    var bytes: [UInt8] {
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n"
        return Array((head + "\r\n" + body).utf8)
    }
}
