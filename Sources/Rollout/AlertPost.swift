// One notification attempt: an HTTP/1.1 POST of a JSON body to an alert's URL (TLS for https), judged by its status.
import Config
import TLS

/// The hooks' client pieces (`DeadlineConnection`, `TLSClientContext`, `WebhookCall`'s response-head parser),
/// so a receiver's certificate is checked like a hook's and the attempt's every wait ends at `alert.timeout`.
/// Only the status line matters: the connection is closed once the head has arrived. Redirects are not
/// followed (a 3xx fails at once), since following one would send the message somewhere the config does not name.
package enum AlertPost {
    package struct Attempt: Equatable, Sendable {
        package var outcome: AlertRetry.Outcome
        /// "HTTP 204", "HTTP 500", "timed out after 5s", "connection refused": for the log, never the URL.
        package var detail: String

        package init(outcome: AlertRetry.Outcome, detail: String) {
            self.outcome = outcome
            self.detail = detail
        }
    }

    /// The most of a response read while looking for the end of its head.
    static let headLimit = 16 * 1024

    package static func send(_ body: [UInt8], to alert: AlertConfig) -> Attempt {
        let target: WebhookURL
        switch WebhookURL.parse(alert.url) {
        case .success(let parsed): target = parsed
        case .failure(let error): return Attempt(outcome: .failed(retryable: false), detail: "invalid URL: it \(error.message)")
        }
        let deadline = HookClock.now() + HookClock.nanoseconds(alert.timeout)
        func failure(_ failure: DeadlineConnection.Failure) -> Attempt {
            switch failure {
            case .timedOut: Attempt(outcome: .failed(retryable: true), detail: "timed out after \(HookClock.describe(alert.timeout))")
            case .failed(let message): Attempt(outcome: .failed(retryable: true), detail: message)
            case .unusable(let message): Attempt(outcome: .failed(retryable: false), detail: message)
            }
        }
        // Loaded per attempt, as the hooks do: notifications are rare, and a renewed CA file is used at once.
        var context: TLSClientContext?
        if target.scheme == .https {
            do { context = try TLSClientContext(caFile: alert.caFile) } catch {
                return Attempt(outcome: .failed(retryable: false), detail: error.message)
            }
        }
        let connection: DeadlineConnection
        switch DeadlineConnection.open(host: target.host, port: target.port, tls: context, deadline: deadline) {
        case .success(let opened): connection = opened
        case .failure(let reason): return failure(reason)
        }
        let head =
            "POST \(target.target) HTTP/1.1\r\n" + "Host: \(target.authority)\r\n" + "User-Agent: canarygate\r\n"
            + "Content-Type: application/json\r\n" + "Accept: */*\r\n" + "Content-Length: \(body.count)\r\n" + "Connection: close\r\n\r\n"
        if case .failure(let reason) = connection.send(Array(head.utf8) + body, deadline: deadline) { return failure(reason) }
        switch receiveStatus(on: connection, deadline: deadline) {
        case .success(let status):
            return Attempt(outcome: outcome(status: status), detail: "HTTP \(status)")
        case .failure(let reason): return failure(reason)
        }
    }

    /// What a response status means for the message. Only a timeout (408), a rate limit (429) or a server's own
    /// trouble (5xx) may pass; any other refusal is a revoked webhook (404, 410), missing rights (401, 403), a
    /// payload the receiver will never take (400) or a redirect not followed (3xx): sending again would hold up
    /// the alert's queue for nothing, so it fails at once.
    package static func outcome(status: Int) -> AlertRetry.Outcome {
        switch status {
        case 200...299: .delivered
        case 408, 429, 500...599: .failed(retryable: true)
        default: .failed(retryable: false)
        }
    }

    /// Reads until the response head is complete; its status code.
    private static func receiveStatus(on connection: DeadlineConnection, deadline: UInt64) -> Result<Int, DeadlineConnection.Failure> {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < headLimit {
            switch buffer.withUnsafeMutableBytes({ connection.receive(into: $0, deadline: deadline) }) {
            case .success(let n) where n > 0:
                received += buffer[0..<n]
                if let end = WebhookCall.findHeadEnd(received) {
                    guard let (status, _) = WebhookCall.parseHead(received[0..<end]) else {
                        return .failure(.failed("invalid response: bad status line"))
                    }
                    return .success(status)
                }
            case .success:
                return .failure(.failed(received.isEmpty ? "connection closed before a response" : "invalid response: truncated head"))
            case .failure(let failure):
                return .failure(failure)
            }
        }
        return .failure(.failed("invalid response: head larger than \(headLimit) bytes"))
    }
}
