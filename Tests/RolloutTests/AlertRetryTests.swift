// The retry schedule of one notification: 2xx is sent, a failure that may pass is retried after 1 s, 2 s, 4 s… up to `retries`.
import Rollout
import Testing

@Suite struct AlertRetryTests {
    @Test func aDeliveredFirstAttemptIsSent() {
        var retry = AlertRetry(retries: 3)
        #expect(retry.record(.delivered) == .sent)
        #expect(retry.attempts == 1)
    }

    @Test func failuresBackOffDoublingThenGiveUpAfterTheLastRetry() {
        var retry = AlertRetry(retries: 3)
        #expect(retry.record(.failed(retryable: true)) == .retry(after: .seconds(1)))
        #expect(retry.record(.failed(retryable: true)) == .retry(after: .seconds(2)))
        #expect(retry.record(.failed(retryable: true)) == .retry(after: .seconds(4)))
        #expect(retry.record(.failed(retryable: true)) == .giveUp)
        #expect(retry.attempts == 4)
    }

    @Test func aRetryThatSucceedsIsSent() {
        var retry = AlertRetry(retries: 3)
        _ = retry.record(.failed(retryable: true))
        _ = retry.record(.failed(retryable: true))
        #expect(retry.record(.delivered) == .sent)
        #expect(retry.attempts == 3)
    }

    @Test func noRetriesGivesUpAtTheFirstFailure() {
        var retry = AlertRetry(retries: 0)
        #expect(retry.record(.failed(retryable: true)) == .giveUp)
    }

    @Test func aFailureAnotherAttemptCannotMendGivesUpAtOnce() {
        var retry = AlertRetry(retries: 3)
        #expect(retry.record(.failed(retryable: false)) == .giveUp)
        #expect(retry.attempts == 1)
    }

    @Test(arguments: [200, 201, 202, 204, 299])
    func aSuccessStatusIsDelivered(status: Int) {
        #expect(AlertPost.outcome(status: status) == .delivered)
    }

    /// A receiver timing out, rate-limiting or in trouble of its own may take the message later.
    @Test(arguments: [408, 429, 500, 502, 503, 504, 599])
    func aStatusThatMayPassIsRetried(status: Int) {
        #expect(AlertPost.outcome(status: status) == .failed(retryable: true))
        var retry = AlertRetry(retries: 3)
        #expect(retry.record(AlertPost.outcome(status: status)) == .retry(after: .seconds(1)))
    }

    /// A revoked webhook, missing rights, a refused payload or a redirect: another attempt gets the same answer.
    @Test(arguments: [300, 301, 302, 304, 307, 308, 400, 401, 403, 404, 405, 410, 413, 415, 422, 100, 600])
    func anyOtherStatusFailsAtOnce(status: Int) {
        #expect(AlertPost.outcome(status: status) == .failed(retryable: false))
        var retry = AlertRetry(retries: 3)
        #expect(retry.record(AlertPost.outcome(status: status)) == .giveUp)
        #expect(retry.attempts == 1)
    }

    @Test func theBackoffIsCappedAtAMinute() {
        #expect(AlertRetry.backoff(beforeRetry: 6) == .seconds(32))
        #expect(AlertRetry.backoff(beforeRetry: 7) == .seconds(60))
        #expect(AlertRetry.backoff(beforeRetry: 10) == .seconds(60))
    }
}
