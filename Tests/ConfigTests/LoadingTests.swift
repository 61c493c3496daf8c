// Loading from disk, and what an unreadable file or broken YAML reports.
import Config
import Foundation
import Testing

@Suite struct LoadingTests {
    @Test func loadsAFileFromDisk() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("canarygate-\(UUID().uuidString).yaml").path
        try issueExample.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try ConfigLoader.load(path: path) == ConfigLoader.parse(issueExample))
    }

    @Test func aMissingFileIsOneProblemWithoutALine() throws {
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.load(path: "/nonexistent/canarygate.yaml")
        }
        #expect(
            error.problems == [
                ConfigProblem(
                    path: "", line: nil, message: "cannot read /nonexistent/canarygate.yaml: No such file or directory")
            ])
        #expect(error.description == "cannot read /nonexistent/canarygate.yaml: No such file or directory")
    }

    @Test func aDirectoryIsNotAConfigFile() {
        #expect(
            throws: ConfigError(problems: [
                ConfigProblem(
                    path: "", line: nil, message: "cannot read /tmp: Is a directory")
            ])
        ) {
            try ConfigLoader.load(path: "/tmp")
        }
    }

    @Test func yamlSyntaxErrorsAreOneProblemAtYamlsLine() {
        #expect(
            problems(
                """
                listeners:
                  - name: http
                    address: 0.0.0.0:8080
                routes: [
                """) == ["invalid YAML: while parsing a flow node on line 5, did not find expected node content (line 5)"])
        #expect(
            problems(
                """
                listeners:
                  - name: http
                   address: 0.0.0.0:8080
                """) == [
                    "invalid YAML: while parsing a block collection on line 2, did not find expected '-' indicator (line 3)"
                ])
        #expect(
            problems(
                """
                listeners: []
                routes: []
                listeners: []
                """) == [#"invalid YAML: duplicated key "listeners" in one mapping (line 1)"#])
        #expect(
            problems("a: 1\n---\nb: 2\n") == [
                "invalid YAML: expected a single document in the stream on line 1, but found another document (line 2)"
            ])
        #expect(problems("routes: *nowhere\n") == ["invalid YAML: found undefined alias (line 1)"])
    }

    @Test func anEmptyDocumentIsRejected() {
        #expect(problems("") == ["the config is empty"])
        #expect(problems("# only a comment\n") == ["the config is empty"])
    }
}
