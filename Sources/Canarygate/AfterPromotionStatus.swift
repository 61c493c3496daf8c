// The /status fields of a rollout after its promotion: the rollback window, the watch, an undo and its override.
import EventLoop
import Rollout

enum AfterPromotionStatus {
    /// `"afterPromotion":…,"primaryOverride":…,"lastUndo":…` (each null when absent), for the rollout's object.
    static func fields(_ r: RolloutState) -> String {
        let json = StatusDocument.json
        let now = MonotonicClock.nowNanoseconds()
        func remaining(_ t: UInt64?) -> String {
            t.map { StatusDocument.number(Double($0 > now ? $0 - now : 0) / 1e9) } ?? "null"
        }
        let after = r.afterPromotion.map { a in
            "{\"revision\":\(json(a.revision)),\"previousPrimary\":\(arm(a.previousPrimary)),"
                + "\"rollbackWindowRemainingSeconds\":\(remaining(a.windowClosesAt)),\"watchRemainingSeconds\":\(remaining(a.watchEndsAt)),"
                + "\"watchedIntervals\":\(a.watchedIntervals),\"watchAlert\":\(a.watchAlert.map(json) ?? "null")}"
        }
        let override = r.primaryOverride.map { o in
            "{\"revision\":\(json(o.arm.revision)),\"endpoints\":\(endpoints(o.arm)),\"replaces\":\(arm(o.replaces))}"
        }
        let undo = r.lastUndo.map { u in
            "{\"undone\":\(json(u.undone)),\"restored\":\(json(u.restored)),\"method\":\(json(u.method.rawValue)),"
                + "\"reason\":\(json(u.reason)),\"hookResult\":\(u.hookResult.map(json) ?? "null")}"
        }
        return "\"afterPromotion\":\(after ?? "null"),\"primaryOverride\":\(override ?? "null"),\"lastUndo\":\(undo ?? "null")"
    }

    private static func arm(_ a: ArmRecord) -> String {
        "{\"revision\":\(StatusDocument.json(a.revision)),\"endpoints\":\(endpoints(a))}"
    }

    private static func endpoints(_ a: ArmRecord) -> String {
        "[" + a.hostPorts.map { StatusDocument.json($0.description) }.joined(separator: ",") + "]"
    }
}
