// Traffic sent in batches while a rollout runs its iterations, each batch that ran wholly inside them checked.
import Foundation

/// What `RolloutProxy.sendBatchesUntilDone` saw.
struct IterationBatches {
    /// The last status read: Promoted, Failed, or where the rollout stood when the time ran out.
    var status: RolloutStatus
    /// Batches that ran wholly while the rollout was Progressing (the status read before and after said so).
    var duringIterations = 0
    /// The passed-iteration counts read after those batches, each new one once, in the order seen.
    var iterationsSeen: [Int] = []
}

extension RolloutProxy {
    /// Until the rollout is Promoted or Failed, at most `timeout` seconds: reads the status, runs `batch`, reads it
    /// again, and when both reads say Progressing hands `check` the status before and what the batch returned.
    func sendBatchesUntilDone<Answers>(
        timeout: Double = 20, _ batch: () throws -> Answers, whileProgressing check: (RolloutStatus, Answers) -> Void
    ) throws -> IterationBatches {
        let deadline = Date().addingTimeInterval(timeout)
        var seen = IterationBatches(status: try rollout())
        while seen.status.phase != "Promoted", seen.status.phase != "Failed", Date() < deadline {
            let answers = try batch()
            let after = try rollout()
            if seen.status.phase == "Progressing", after.phase == "Progressing" {
                check(seen.status, answers)
                seen.duringIterations += 1
                if seen.iterationsSeen.last != after.iterations { seen.iterationsSeen.append(after.iterations) }
            }
            seen.status = after
        }
        return seen
    }
}
