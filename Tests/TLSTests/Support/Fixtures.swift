// Test fixtures: a temporary directory, certificates made by the openssl CLI, and client processes.
import Foundation
import Glibc
import TLS

struct FixtureError: Error, CustomStringConvertible {
    var description: String
}

/// A fresh directory under the system temp dir, removed by `remove()`.
struct TempDirectory {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/tlstests.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw FixtureError(description: "mkdtemp failed") }
        path = String(cString: made)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) throws -> String {
        let target = file(name)
        try text.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs a command to completion; returns its exit status and combined output.
@discardableResult
func runToCompletion(_ executable: String, _ arguments: [String], in directory: String) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let outputPath = directory + "/.run-\(UUID().uuidString).out"
    FileManager.default.createFile(atPath: outputPath, contents: nil)
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    defer { try? output.close(); try? FileManager.default.removeItem(atPath: outputPath) }
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    return (process.terminationStatus, text)
}

/// A self-signed P-256 certificate and its key, made by the openssl command line.
struct Certificate {
    let certificate: String
    let key: String

    var keyPair: TLSKeyPair { TLSKeyPair(certificateFile: certificate, privateKeyFile: key) }

    /// `subject` as openssl writes it; `dnsNames` become a subjectAltName extension (none when empty).
    static func make(
        in dir: TempDirectory, prefix: String = "", subject: String = "/CN=localhost", dnsNames: [String] = []
    ) throws -> Certificate {
        let key = prefix + "key.pem", cert = prefix + "cert.pem"
        let altNames = dnsNames.isEmpty ? [] : ["-addext", "subjectAltName=" + dnsNames.map { "DNS:" + $0 }.joined(separator: ",")]
        let result = try runToCompletion(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key, "-out", cert, "-days", "1", "-subj", subject,
            ] + altNames, in: dir.path)
        guard result.status == 0 else { throw FixtureError(description: "openssl req failed: \(result.output)") }
        return Certificate(certificate: dir.file(cert), key: dir.file(key))
    }
}

/// A client (curl, openssl s_client) running while the test drives the server on its own thread.
/// Output goes to a file: a pipe could fill up while nobody reads it and stall the client.
final class ClientProcess {
    let process = Process()
    let outputPath: String

    init(_ executable: String, _ arguments: [String], in dir: TempDirectory, name: String) throws {
        outputPath = dir.file(name + ".out")
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        process.standardOutput = output
        process.standardError = output
        // s_client ends (close_notify, exit) when its stdin is at EOF.
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? output.close()
    }

    /// Waits for the exit, killing the client after `seconds`; returns its status (nil if killed).
    func finish(within seconds: Double = 10) -> Int32? {
        let end = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < end { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
}
