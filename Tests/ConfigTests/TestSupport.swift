// Helpers shared by the Config tests: a minimal valid config and problem extraction.
import Config

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
