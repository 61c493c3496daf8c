// Helpers shared by the Config tests: a minimal valid config and problem extraction.
import Config
import Testing

/// The smallest valid config. Lines: 1 listeners, 3 listener address, 5 route name, 8 endpoints.
let minimalConfig = """
    listeners:
      - name: http
        address: 0.0.0.0:8080
    routes:
      - name: web
        primary:
          revision: v1
          endpoints: ["127.0.0.1:9001"]

    """

/// The problems `yaml` is rejected with, as printed; empty when it is accepted.
func problems(_ yaml: String) -> [String] {
    do {
        _ = try ConfigLoader.parse(yaml)
        return []
    } catch {
        return error.problems.map(\.description)
    }
}

/// `minimalConfig` plus a canary (line 9) and `analysis:` (line 10) holding `body`, indented
/// under it: the body's first line is line 11 of the result.
func withAnalysis(_ body: String) -> String {
    let indented = body.split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.isEmpty ? "" : "      " + $0 }
        .joined(separator: "\n")
    return minimalConfig + """
            canary: { revision: v2, endpoints: ["127.0.0.1:9002"] }
            analysis:

        """ + indented + "\n"
}

/// The decoded `analysis` of `withAnalysis(body)`.
func analysis(_ body: String) throws -> AnalysisConfig {
    try #require(try ConfigLoader.parse(withAnalysis(body)).routes[0].analysis)
}
