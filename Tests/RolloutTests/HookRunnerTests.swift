// The hook runner's batch behaviour: concurrency, result order, one completion, retries and the empty batch.
import Config
import Foundation
import Testing
@testable import Rollout

extension HookRunner {
    /// The batch's results, awaited (the completion comes on a hook thread).
    func results(_ requests: [HookRequest]) async -> [HookResult] {
        await withCheckedContinuation { continuation in
            start(requests) { continuation.resume(returning: $0) }
        }
    }
}

/// A request for `hook` with the usual test facts, in the route's first rollout.
func hookRequest(
    _ hook: HookConfig, route: String = "web", phase: String = "Progressing",
    revision: String = "v2", weight: Int = 25, environment: [String: String] = [:]
) -> HookRequest {
    let rollout = RolloutState(route: route, phase: .progressing, canaryRevision: revision, primaryRevision: "v1", rolloutNumber: 1)
    return HookRequest(
        route: route, hook: hook, phase: phase, revision: revision, weight: weight, environment: environment,
        idempotencyKey: rollout.idempotencyKey(for: hook))
}

func execHook(
    _ name: String, _ command: [String], type: HookType = .rollout, timeout: Duration = .seconds(5),
    retries: Int = 0, metadata: [String: String] = [:]
) -> HookConfig {
    var hook = HookConfig(name: name, type: type, action: .exec(command: command))
    hook.timeout = timeout
    hook.retries = retries
    hook.metadata = metadata
    return hook
}

/// A fresh directory under the system's temporary one.
func hookTestDirectory() -> String {
    var template = Array((NSTemporaryDirectory() + "/canarygate-hooks-XXXXXX").utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed")
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

@Suite struct HookRunnerTests {
    @Test func emptyBatchCompletesWithNoResults() async {
        let results = await HookRunner().results([])
        #expect(results.isEmpty)
    }

    @Test func aBatchRunsConcurrentlyAndKeepsTheRequestsOrder() async {
        let runner = HookRunner()
        let requests = [
            hookRequest(execHook("slow-a", ["sleep", "12"], timeout: .seconds(60))),
            hookRequest(execHook("fails", ["/bin/false"])),
            hookRequest(execHook("slow-b", ["sleep", "12"], timeout: .seconds(60))),
            hookRequest(execHook("slow-c", ["sleep", "12"], timeout: .seconds(60))),
        ]
        let clock = ContinuousClock()
        let started = clock.now
        let results = await runner.results(requests)
        let elapsed = clock.now - started
        #expect(results.map(\.name) == ["slow-a", "fails", "slow-b", "slow-c"])
        #expect(results.map(\.passed) == [true, false, true, true])
        // One after the other would take 36 s; together about 12 s, with a wide margin for a loaded machine.
        #expect(elapsed < .seconds(30), "took \(elapsed)")
        #expect(results[0].durationNanoseconds >= 12_000_000_000)
        #expect(results.allSatisfy { $0.type == .rollout && $0.attempts == 1 })
    }

    @Test func completionIsCalledExactlyOnce() async throws {
        let calls = CallCounter()
        let runner = HookRunner()
        let requests = (0..<8).map { hookRequest(execHook("h\($0)", ["/bin/true"])) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            runner.start(requests) { results in
                calls.increment(results.count)
                continuation.resume()
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(calls.values == [8])
    }

    @Test func retriesUntilAPassWithTheBackoffBetweenAttempts() async {
        let directory = hookTestDirectory()
        let counter = directory + "/count"
        // Fails on the first two runs, passes on the third.
        let script = "n=$(cat \(counter) 2>/dev/null || echo 0); n=$((n+1)); echo $n > \(counter); [ $n -ge 3 ]"
        let result = await HookRunner().results([hookRequest(execHook("flaky", ["sh", "-c", script], retries: 3))])[0]
        #expect(result.passed)
        #expect(result.attempts == 3)
        #expect(result.durationNanoseconds >= 200_000_000, "two 100 ms backoffs")
    }

    @Test func retriesAreBoundedAndTheLastFailureIsReported() async {
        let result = await HookRunner(retryBackoff: .milliseconds(10))
            .results([hookRequest(execHook("never", ["sh", "-c", "echo nope; exit 3"], retries: 2))])[0]
        #expect(!result.passed)
        #expect(result.attempts == 3)
        #expect(result.detail == "exit 3")
        #expect(result.output == "nope")
    }

    @Test func aFailureThatRetryingCannotHelpIsNotRetried() async {
        let result = await HookRunner().results([hookRequest(execHook("empty", [], retries: 5))])[0]
        #expect(!result.passed)
        #expect(result.attempts == 1)
        #expect(result.detail == "empty command")
    }

    @Test func durationsAreWordedAsInTheDetails() {
        #expect(HookClock.describe(.seconds(5)) == "5s")
        #expect(HookClock.describe(.milliseconds(300)) == "0.3s")
        #expect(HookClock.describe(.milliseconds(1250)) == "1.25s")
        #expect(HookClock.describe(.milliseconds(5)) == "0.005s")
    }
}

private final class CallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Int] = []
    func increment(_ value: Int) { lock.withLock { recorded.append(value) } }
    var values: [Int] { lock.withLock { recorded } }
}
