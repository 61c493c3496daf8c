// What an undo's rollback hooks are told: the revision to redeploy, beside the revision undone.
import Config
import Foundation
import Testing

@testable import Rollout

@Suite struct UndoHookFactsTests {
    let rollbackHook = HookConfig(name: "redeploy", type: .rollback, action: .exec(command: ["true"]))

    @Test func anUndoNamesThePreviousRevision() throws {
        let request = HookRequest(
            route: "web", hook: rollbackHook, phase: "Failed", revision: "v2", weight: 0, previousRevision: "v1",
            idempotencyKey: "web/v2/1/rollback/redeploy")
        let variables = HookEnvironment.variables(for: request)
        #expect(variables["CANARYGATE_PREVIOUS_REVISION"] == "v1")
        #expect(variables["CANARYGATE_REVISION"] == "v2")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(WebhookPayload(request).json())) as? [String: Any])
        #expect(json["previousRevision"] as? String == "v1")
        #expect(json["revision"] as? String == "v2")
    }

    @Test func otherHooksAreToldNothingMore() throws {
        let request = HookRequest(
            route: "web", hook: rollbackHook, phase: "Failed", revision: "v2", weight: 0, idempotencyKey: "web/v2/1/rollback/redeploy")
        #expect(HookEnvironment.variables(for: request)["CANARYGATE_PREVIOUS_REVISION"] == nil)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(WebhookPayload(request).json())) as? [String: Any])
        #expect(json.keys.sorted() == ["idempotencyKey", "metadata", "name", "phase", "revision", "route", "type", "weight"])
    }
}
