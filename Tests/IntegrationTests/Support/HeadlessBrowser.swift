// Headless Chromium for the admin page's tests: steps in, a report out, through Support/cdp_browser.py.
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What the driver saw: values of the steps, every console error, exception, error log entry and CSP violation.
struct BrowserReport {
    var results: [String: Any]
    var errors: [String]
    /// Why the steps stopped early (a wait not met, a page that did not load); nil when they all ran.
    var failed: String?
    /// `width`, `height`, `bytes`, `distinctColours` of the screenshot, if one was taken.
    var screenshot: [String: Int]?

    var cspViolations: [String] { results["cspViolations"] as? [String] ?? [] }

    /// Errors, CSP violations and the failure, for a message.
    var problems: String {
        ([failed].compactMap { $0 } + errors + cspViolations.map { "CSP: \($0)" }).joined(separator: "\n")
    }
}

enum HeadlessBrowser {
    static let chromium = "/usr/bin/chromium"

    /// Runs `steps` (see cdp_browser.py) in a fresh Chromium with its own profile, bounded by `timeout`; Chromium and
    /// its children (a process group of their own) are killed on every way out.
    static func run(_ steps: [[String: Any]], width: Int = 1400, height: Int = 1000, timeout: Double = 120) throws -> BrowserReport {
        let dir = try TempDir.make()
        defer { dir.remove() }
        let spec = try JSONSerialization.data(withJSONObject: ["chromium": chromium, "width": width, "height": height, "steps": steps])
        let specFile = dir.url.appendingPathComponent("steps.json")
        try spec.write(to: specFile)
        let report = dir.url.appendingPathComponent("report.json"), pidFile = dir.url.appendingPathComponent("chromium.pid")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("cdp_browser.py").path
        let driver = try ChildProcess(
            path: "/usr/bin/python3", arguments: [script, specFile.path, report.path, pidFile.path],
            stdoutPath: dir.url.appendingPathComponent("driver.log").path)
        defer {
            driver.terminate(grace: 2)
            // The driver kills the group itself; this covers a driver that was killed first.
            if let text = try? String(contentsOf: pidFile, encoding: .utf8), let pid = Int32(text), pid > 1 { kill(-pid, SIGKILL) }
        }
        if !driver.wait(timeout: timeout) { Issue.record("the browser driver ran past \(timeout) s") }
        let log = (try? String(contentsOf: dir.url.appendingPathComponent("driver.log"), encoding: .utf8)) ?? ""
        guard let data = try? Data(contentsOf: report), let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ProxyError.badStatus(-1, "the browser driver wrote no report:\n\(log)")
        }
        return BrowserReport(
            results: json["results"] as? [String: Any] ?? [:], errors: json["errors"] as? [String] ?? [],
            failed: json["failed"] as? String, screenshot: json["screenshot"] as? [String: Int])
    }

    /// Steps that log in through the page's own form, as a person would.
    static func login(adminPort: UInt16, token: String) -> [[String: Any]] {
        [
            ["navigate": "http://127.0.0.1:\(adminPort)/login"],
            [
                "eval": "document.getElementById('token').value = \(jsString(token)); document.querySelector('form').submit(); true",
                "as": "submitted",
            ],
            ["wait": "location.pathname === '/' && document.readyState === 'complete' && !!document.body.dataset.role", "timeout": 15],
        ]
    }

    static func jsString(_ text: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [text])
        return String(decoding: data, as: UTF8.self).dropFirst().dropLast().description
    }
}
