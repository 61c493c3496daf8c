// The retry schedule of one notification: 2xx is sent, a failure is retried after 1 s, 2 s, 4 s… up to `retries`.
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

    @Test func theBackoffIsCappedAtAMinute() {
        #expect(AlertRetry.backoff(beforeRetry: 6) == .seconds(32))
        #expect(AlertRetry.backoff(beforeRetry: 7) == .seconds(60))
        #expect(AlertRetry.backoff(beforeRetry: 10) == .seconds(60))
    }
}
