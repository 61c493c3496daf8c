// Exec hooks over real processes: exit status, environment, output, timeouts and killability.
import Config
import Foundation
import Testing
@testable import Rollout

@Suite struct HookExecTests {
    let runner = HookRunner()

    @Test func trueExitsZeroAndPasses() async {
        let result = await runner.results([hookRequest(execHook("ok", ["/bin/true"], type: .preRollout))])[0]
        #expect(
            result
                == HookResult(
                    name: "ok", type: .preRollout, passed: true, detail: "exit 0",
                    attempts: 1, durationNanoseconds: result.durationNanoseconds))
    }

    @Test func falseFailsWithItsExitStatus() async {
        let result = await runner.results([hookRequest(execHook("no", ["/bin/false"]))])[0]
        #expect(!result.passed)
        #expect(result.detail == "exit 1")
    }

    @Test func theOutputTailGoesBesideTheFailureDetailOnOneLine() async {
        let result = await runner.results([hookRequest(execHook("loud", ["sh", "-c", "echo out; echo 'bad thing' >&2; exit 2"]))])[0]
        #expect(!result.passed)
        #expect(result.detail == "exit 2")
        #expect(result.output == "out\\nbad thing")
    }

    @Test func controlCharactersInTheOutputAreEscaped() {
        var tail = OutputTail(limit: 64)
        tail.append(ArraySlice(Array("ok\r\n\u{1B}[31mred\tback\\slash\u{7F}\n".utf8) + [0xFF]))
        #expect(tail.shown == "ok\\r\\n\\x1b[31mred\\tback\\\\slash\\x7f\\n\u{FFFD}")
    }

    @Test func onlyTheLast4KiBOfOutputIsKeptWithHowMuchWasDropped() async {
        let result = await runner.results([
            hookRequest(execHook("chatty", ["sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done; exit 1"]))
        ])[0]
        #expect(!result.passed)
        #expect(result.detail == "exit 1")
        // 10 × "line-N\n" (70 bytes) + 90 × 8 + 900 × 9 + 1000 × 10 = 18,890 bytes written.
        let written = 70 + 90 * 8 + 900 * 9 + 1000 * 10
        #expect(result.output.hasPrefix("(\(written - 4096) bytes dropped) "), "\(result.output.prefix(60))")
        #expect(result.output.hasSuffix("line-1999"))
        #expect(!result.output.contains("line-0\\n"))
        // 4096 bytes kept, each newline shown as two characters.
        #expect(result.output.utf8.count < 2 * 4096 + 40)
    }

    @Test func theRolloutIsInTheEnvironment() async throws {
        let directory = hookTestDirectory()
        let file = directory + "/env"
        let script =
            "echo \"$CANARYGATE_ROUTE $CANARYGATE_HOOK $CANARYGATE_HOOK_TYPE $CANARYGATE_PHASE $CANARYGATE_REVISION "
            + "$CANARYGATE_WEIGHT $CANARYGATE_META_DRY_RUN $CANARYGATE_META_TEAM $EXTRA ${HOME:-no-home} $CANARYGATE_IDEMPOTENCY_KEY\" > \(file)"
        let hook = execHook("env", ["sh", "-c", script], type: .confirmPromotion, metadata: ["dry-run": "yes", "team": "web"])
        let request = hookRequest(
            hook, route: "shop", phase: "WaitingPromotion", revision: "v7", weight: 50,
            environment: ["EXTRA": "extra"])
        let result = await runner.results([request])[0]
        #expect(result.passed, "\(result.detail)")
        let written = try String(contentsOfFile: file, encoding: .utf8)
        // HOME is the proxy's, not passed unless `passEnv` names it.
        #expect(written == "shop env confirm-promotion WaitingPromotion v7 50 yes web extra no-home shop/v7/1/confirm-promotion/env\n")
    }

    @Test func configuredVariablesAndPassedNamesReachTheHook() async throws {
        setenv("CANARYGATE_TEST_REGION", "eu-west", 1)
        setenv("CANARYGATE_TEST_TOKEN", "not-for-hooks", 1)
        let file = hookTestDirectory() + "/env"
        var hook = execHook(
            "env",
            ["sh", "-c", "echo \"$DEPLOY_ENV $CANARYGATE_TEST_REGION ${CANARYGATE_TEST_TOKEN:-none} ${UNSET_NAME:-unset}\" > \(file)"])
        hook.environment = ["DEPLOY_ENV": "prod"]
        hook.passEnvironment = ["CANARYGATE_TEST_REGION", "UNSET_NAME"]
        let result = await runner.results([hookRequest(hook)])[0]
        #expect(result.passed, "\(result.detail) \(result.output)")
        // `sh` itself is found through the proxy's PATH (posix_spawnp), whatever the child is given.
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "prod eu-west none unset\n")
    }

    @Test func theRevisionIsVisibleToAShell() async throws {
        let file = hookTestDirectory() + "/revision"
        let result = await runner.results([
            hookRequest(execHook("rev", ["sh", "-c", "echo $CANARYGATE_REVISION > \(file)"]), revision: "v2")
        ])[0]
        #expect(result.passed)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "v2\n")
    }

    @Test func stdinIsEmpty() async {
        // `cat` would wait forever on an inherited terminal or pipe.
        let result = await runner.results([hookRequest(execHook("stdin", ["sh", "-c", "test -z \"$(cat)\""], timeout: .seconds(2)))])[0]
        #expect(result.passed, "\(result.detail)")
    }

    @Test func aMissingCommandFails() async {
        let result = await runner.results([hookRequest(execHook("missing", ["/nonexistent/canarygate-hook"]))])[0]
        #expect(!result.passed)
        #expect(result.detail == "cannot run /nonexistent/canarygate-hook: No such file or directory")
    }

    @Test func aHookPastItsTimeoutIsTerminatedAndReported() async {
        let clock = ContinuousClock()
        let started = clock.now
        // A grace far longer than the bound below: finishing within the bound proves SIGTERM did it.
        let runner = HookRunner(killGrace: .seconds(60))
        let result = await runner.results([hookRequest(execHook("slow", ["sleep", "120"], timeout: .milliseconds(300)))])[0]
        let elapsed = clock.now - started
        #expect(!result.passed)
        #expect(result.detail == "timed out after 0.3s")
        #expect(elapsed >= .milliseconds(300))
        // Generous bound (the suite runs beside CPU-heavy tests): only the kill can end `sleep 120` this early.
        #expect(elapsed < .seconds(30), "took \(elapsed)")
    }

    @Test func aTimeoutStopsTheWholeProcessGroup() async {
        let file = hookTestDirectory() + "/after"
        // The shell forks `sleep`; killing only the shell would leave it running, holding the pipe.
        let script = "sleep 120; echo survived > \(file)"
        let clock = ContinuousClock()
        let started = clock.now
        let result = await runner.results([hookRequest(execHook("tree", ["sh", "-c", script], timeout: .milliseconds(300)))])[0]
        #expect(!result.passed)
        #expect(result.detail.hasPrefix("timed out after 0.3s"))
        #expect(clock.now - started < .seconds(30))
        try? await Task.sleep(for: .milliseconds(200))
        #expect(!FileManager.default.fileExists(atPath: file))
    }

    @Test func aHookIgnoringSIGTERMIsKilledAfterTheGrace() async {
        let runner = HookRunner(killGrace: .milliseconds(300))
        let clock = ContinuousClock()
        let started = clock.now
        let hook = execHook("stubborn", ["sh", "-c", "trap '' TERM; echo started; sleep 120"], timeout: .milliseconds(300))
        let result = await runner.results([hookRequest(hook)])[0]
        let elapsed = clock.now - started
        #expect(!result.passed)
        #expect(result.detail == "timed out after 0.3s")
        #expect(result.output == "started")
        #expect(elapsed >= .milliseconds(600))
        #expect(elapsed < .seconds(30), "took \(elapsed)")
    }

    @Test func aHookStartedFromAThreadBlockingSIGTERMCanStillBeTerminated() async {
        // As the control thread does for its signalfd: block SIGTERM (and SIGHUP, SIGINT), then start.
        // A grace far longer than the bound below: only SIGTERM can stop the child in time.
        let runner = HookRunner(killGrace: .seconds(60))
        let clock = ContinuousClock()
        let started = clock.now
        let result: HookResult = await withCheckedContinuation { continuation in
            let thread = Thread {
                var blocked = sigset_t()
                sigemptyset(&blocked)
                sigaddset(&blocked, SIGTERM)
                sigaddset(&blocked, SIGHUP)
                sigaddset(&blocked, SIGINT)
                pthread_sigmask(SIG_BLOCK, &blocked, nil)
                runner.start([hookRequest(execHook("masked", ["sleep", "120"], timeout: .milliseconds(300)))]) {
                    continuation.resume(returning: $0[0])
                }
            }
            thread.start()
        }
        let elapsed = clock.now - started
        #expect(!result.passed)
        #expect(result.detail == "timed out after 0.3s")
        // With SIGTERM still blocked in the child, only the SIGKILL after the 60 s grace would stop it.
        #expect(elapsed < .seconds(30), "took \(elapsed)")
    }

    @Test func aBackgroundedGrandchildDoesNotHoldTheHook() async throws {
        // The shell exits at once; its background child keeps the output pipe open for 40 s.
        let pidFile = hookTestDirectory() + "/grandchild.pid"
        let clock = ContinuousClock()
        let started = clock.now
        let result = await runner.results([hookRequest(execHook("bg", ["sh", "-c", "sleep 40 & echo $! > \(pidFile); exit 0"]))])[0]
        #expect(result.passed)
        #expect(clock.now - started < .seconds(30))
        // Leave no process behind.
        if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            kill(pid, SIGKILL)
        }
    }

    @Test func aHookGetsNeitherTheProxysSecretsNorItsDescriptors() async throws {
        // What the security review found in a hook: a secret from the proxy's environment, and a pipe
        // and a /proc directory of the proxy's, opened without close-on-exec.
        setenv("CANARYGATE_TEST_SECRET", "hunter2", 1)
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        let procDirectory = open("/proc/self", O_RDONLY | O_DIRECTORY)
        defer { close(ends[0]); close(ends[1]); close(procDirectory) }
        // `ls` runs as the shell's child, so it lists the shell's descriptors, not its own directory's; no
        // redirection either (dash keeps a copy of the redirected descriptor). The exit makes the output kept.
        let script = "ls /proc/$$/fd; echo ---; env; exit 1"
        let result = await runner.results([hookRequest(execHook("dump", ["sh", "-c", script]))])[0]
        #expect(result.detail == "exit 1")
        let lines = result.output.components(separatedBy: "\\n")
        let descriptors = lines.prefix { $0 != "---" }
        let names = lines.drop { $0 != "---" }.dropFirst().map { String($0.prefix { $0 != "=" }) }
        // The shell exports PWD itself.
        #expect(
            Set(names).subtracting(["PWD"]) == [
                "PATH", "CANARYGATE_ROUTE", "CANARYGATE_HOOK", "CANARYGATE_HOOK_TYPE",
                "CANARYGATE_PHASE", "CANARYGATE_REVISION", "CANARYGATE_WEIGHT", "CANARYGATE_IDEMPOTENCY_KEY",
            ])
        #expect(descriptors == ["0", "1", "2"])
    }

    @Test func metadataKeysBecomeVariableNames() {
        #expect(HookEnvironment.metaName("dry-run") == "DRY_RUN")
        #expect(HookEnvironment.metaName("team.name") == "TEAM_NAME")
        #expect(HookEnvironment.metaName("x1") == "X1")
    }

    @Test func theFactsOverrideTheParentsEnvironment() {
        let entries = HookEnvironment.entries(
            parent: ["PATH=/bin", "CANARYGATE_ROUTE=stale", "EXTRA=old", "SECRET=x", "HOME=/root"],
            pass: ["PATH", "EXTRA", "CANARYGATE_ROUTE", "HOME"],
            configured: ["HOME": "/srv/deploy", "DEPLOY": "yes"],
            extra: ["EXTRA": "new", "CANARYGATE_ROUTE": "extra"],
            facts: ["CANARYGATE_ROUTE": "web"])
        #expect(entries == ["PATH=/bin", "CANARYGATE_ROUTE=web", "DEPLOY=yes", "EXTRA=new", "HOME=/srv/deploy"])
    }
}
