// Collects problems during one decoding pass, so the pass can go on and report them all.

/// Shared by every node of one decoding pass: decoders report here instead of throwing,
/// which lets a bad listener and a bad route both be reported by the same run.
final class ProblemLog {
    private var problems: [ConfigProblem] = []

    var count: Int { problems.count }

    func report(path: String, line: Int?, _ message: String) {
        problems.append(ConfigProblem(path: path, line: line, message: message))
    }

    /// In file order, so the list reads top to bottom like the file. Decoders report a mapping's
    /// unknown keys after its children's problems; sorting undoes that. Ties keep report order.
    var inFileOrder: [ConfigProblem] {
        problems.enumerated()
            .sorted { ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset) }
            .map(\.element)
    }
}
