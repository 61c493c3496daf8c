// Runs a batch of hooks concurrently, each on its own thread with its retries and timeouts, and reports once.
import Config
import Synchronization

/// Hooks block (a webhook waits for its answer, an exec hook for its process), so each runs on a
/// thread of its own, never on an event loop nor on the control thread; the controller gets all of a
/// batch's results in one callback and decides from them (e.g. a `confirm-*` gate passes only if all pass).
public final class HookRunner: Sendable {
    /// The pause between a failed attempt and the next.
    let retryBackoff: Duration
    /// How long an exec hook that timed out gets between SIGTERM and SIGKILL.
    let killGrace: Duration

    public init(retryBackoff: Duration = .milliseconds(100), killGrace: Duration = .seconds(1)) {
        self.retryBackoff = retryBackoff
        self.killGrace = killGrace
    }

    /// Runs every hook of `requests` concurrently and calls `completion` once, on one of the hook
    /// threads, with the results in the order of `requests`. It is never called from inside `start`
    /// (not even for an empty batch), so the caller may hold its own state while starting a batch;
    /// the caller hands the results back to its own thread (e.g. through the control thread's mailbox).
    public func start(_ requests: [HookRequest], completion: @escaping @Sendable ([HookResult]) -> Void) {
        if requests.isEmpty {
            if !HookThread.start({ completion([]) }) { completion([]) }
            return
        }
        let batch = Batch(count: requests.count, completion: completion)
        for (index, request) in requests.enumerated() {
            let started = HookThread.start { [self] in
                batch.finish(index, with: self.run(request))
            }
            if !started {
                let result = HookResult(
                    name: request.hook.name, type: request.hook.type, passed: false,
                    detail: "cannot start a hook thread", attempts: 0, durationNanoseconds: 0)
                batch.finish(index, with: result)
            }
        }
    }

    /// Runs one hook to its end on the calling thread: attempts until one passes, the retries are
    /// used up, or a failure cannot be helped by retrying.
    func run(_ request: HookRequest) -> HookResult {
        let hook = request.hook
        let started = HookClock.now()
        let maxAttempts = 1 + max(0, hook.retries)
        var attempts = 0
        var outcome = HookAttempt.fail("not run")
        while attempts < maxAttempts {
            if attempts > 0 { HookClock.sleep(nanoseconds: HookClock.nanoseconds(retryBackoff)) }
            attempts += 1
            outcome = attempt(request)
            if outcome.passed || !outcome.retryable { break }
        }
        return HookResult(
            name: hook.name, type: hook.type, passed: outcome.passed, detail: outcome.detail, output: outcome.output,
            attempts: attempts, durationNanoseconds: HookClock.now() - started)
    }

    private func attempt(_ request: HookRequest) -> HookAttempt {
        let deadline = HookClock.now() + HookClock.nanoseconds(request.hook.timeout)
        switch request.hook.action {
        case .webhook(let url, let headers, let caFile):
            return WebhookCall(request: request, url: url, headers: headers, caFile: caFile).perform(deadline: deadline)
        case .exec(let command):
            return ExecCall(request: request, command: command, killGrace: killGrace).perform(deadline: deadline)
        }
    }
}

/// A batch's results as they come in; the last hook to finish calls the completion.
private final class Batch: Sendable {
    private struct Progress {
        var results: [HookResult?]
        var remaining: Int
    }
    private let progress: Mutex<Progress>
    private let completion: @Sendable ([HookResult]) -> Void

    init(count: Int, completion: @escaping @Sendable ([HookResult]) -> Void) {
        progress = Mutex(Progress(results: Array(repeating: nil, count: count), remaining: count))
        self.completion = completion
    }

    func finish(_ index: Int, with result: HookResult) {
        let done: [HookResult]? = progress.withLock { progress in
            progress.results[index] = result
            progress.remaining -= 1
            return progress.remaining == 0 ? progress.results.map { $0! } : nil
        }
        // Outside the lock: the completion may take as long as it likes.
        if let done { completion(done) }
    }
}
