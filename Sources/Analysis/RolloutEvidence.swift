// What a rollout has learned, as the state file keeps it: the revision, the current step, each judge's memory.

import Config

/// A judge's share of the rollout's evidence: kept in the state file under `key`, so that a restarted
/// proxy continues the rollout's evidence instead of starting it again.
public protocol JudgeMemory: Codable, Sendable, Equatable {
    /// Its key in the state file's evidence object.
    static var key: String { get }
    /// What a new rollout starts with under `analysis`.
    init(newRolloutUnder analysis: AnalysisConfig)
    /// Whether memory saved under earlier settings is still about this rollout under `analysis`
    /// (e.g. was gathered at the same α); restored evidence one part of which is not is dropped whole.
    func holds(under analysis: AnalysisConfig) -> Bool
}

extension JudgeMemory {
    public func holds(under analysis: AnalysisConfig) -> Bool { true }

    fileprivate func isEqual(to other: any JudgeMemory) -> Bool { (other as? Self) == self }
}

extension RolloutJudges {
    /// What the rollout has learned; it belongs to the rollout, so it is persisted with its state.
    ///
    /// A JSON object: `revision`, `step`, and each judge's memory under its key (`sequential`,
    /// `comparedIntervals`). Every judge's memory is kept, built or not: /status shows the sequential
    /// judge's evidence whether or not it is enabled, and a judge turned on again by a reload continues it.
    public struct Evidence: Sendable, Equatable, Codable {
        /// The canary revision the evidence is about.
        public var revision: String?
        /// The current step: its weight, both arms' counts by class since it began, intervals judged in
        /// it — kept here so that a restart does not throw away the evidence a step has gathered.
        public var step = Step()
        /// Each judge's memory by its key.
        private var memories: [String: any JudgeMemory] = [:]

        public struct Step: Sendable, Equatable, Codable {
            public var weight = -1
            public var canary = OutcomeCounts()
            public var primary = OutcomeCounts()
            public var looks = 0
        }

        /// A new rollout's evidence: every memory of `factory`'s judges as a new rollout starts it.
        public init(revision: String?, analysis: AnalysisConfig, factory: JudgeFactory = .standard) {
            self.revision = revision
            for type in factory.memoryTypes { keep(type.init(newRolloutUnder: analysis)) }
        }

        /// The memory of type `M`. Every evidence `RolloutJudges` holds has each of its judges' memories.
        public subscript<M: JudgeMemory>(_: M.Type) -> M {
            guard let memory = memories[M.key] as? M else { preconditionFailure("the rollout evidence has no \(M.key)") }
            return memory
        }

        /// Keeps `memory` under its key.
        mutating func keep(_ memory: any JudgeMemory) {
            memories[type(of: memory).key] = memory
        }

        /// This restored evidence as `RolloutJudges` continues it for `revision` under `analysis`: nil when it
        /// is about another revision or one of its memories no longer holds; a memory it lacks (a judge
        /// added since it was saved) is taken from `new`.
        func continued(revision: String?, analysis: AnalysisConfig, new: Evidence) -> Evidence? {
            guard self.revision == revision, memories.values.allSatisfy({ $0.holds(under: analysis) }) else { return nil }
            var continued = self
            continued.memories.merge(new.memories) { restored, _ in restored }
            return continued
        }

        public static func == (a: Evidence, b: Evidence) -> Bool {
            a.revision == b.revision && a.step == b.step && a.memories.count == b.memories.count
                && a.memories.allSatisfy { key, memory in b.memories[key].map(memory.isEqual) ?? false }
        }

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ string: String) { stringValue = string }
            init?(stringValue: String) { self.init(stringValue) }
            init?(intValue: Int) { nil }
        }

        /// Memories under keys no judge of the standard factory has are left out (a judge since removed).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            revision = try container.decodeIfPresent(String.self, forKey: Key("revision"))
            step = try container.decode(Step.self, forKey: Key("step"))
            for type in JudgeFactory.standard.memoryTypes where container.contains(Key(type.key)) {
                keep(try container.decode(type, forKey: Key(type.key)))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encodeIfPresent(revision, forKey: Key("revision"))
            try container.encode(step, forKey: Key("step"))
            for (key, memory) in memories.sorted(by: { $0.key < $1.key }) { try container.encode(memory, forKey: Key(key)) }
        }
    }
}
