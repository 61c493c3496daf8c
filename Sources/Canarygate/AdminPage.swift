// GET /: the admin page, rendered with the state of the moment and a small inline script that keeps it live.
import Config

/// One self-contained HTML document: no external asset, no font or CDN fetched; charts are inline SVG drawn by
/// the script (AdminPageScript) from the state embedded here, then from GET /events. The route summaries are
/// rendered here too, so the page says where each rollout stands before (or without) its script running.
enum AdminPage {
    static func response(server: Server, role: AdminRole, admin: AdminConfig) -> AdminResponse {
        let nonce = AdminHTML.nonce()
        let status = StatusDocument.render(server)
        let timeline = server.timelineJSON(since: nil)
        let tokens = admin.operatorToken != nil || admin.readerToken != nil
        let initial = "{\"role\":\"\(role.rawValue)\",\"status\":\(status),\"timeline\":\(timeline)}"
        let account =
            tokens
            ? (role == .reader && admin.operatorToken != nil ? "<a href=\"/login\">log in as operator</a>" : "")
                + "<form method=\"post\" action=\"/logout\"><button type=\"submit\" class=\"link\">log out</button></form>"
            : ""
        let routes = server.state.snapshot.config.routes.map(summary).joined(separator: "\n")
        let body = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>canarygate</title>
            <meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
            <style nonce="\(nonce)">\(style)</style></head>
            <body data-role="\(role.rawValue)">
            <header><h1>canarygate</h1><span id="live" class="pill off">connecting</span><span id="updated"></span>
            <span class="spacer"></span><span class="role">\(role.rawValue)</span>\(account)</header>
            <div id="notice" hidden></div>
            <main id="routes">
            \(routes)
            </main>
            <section class="card" id="eventlog"><h2>Events</h2><table><tbody id="events"></tbody></table></section>
            <script type="application/json" id="initial">\(AdminHTML.scriptJSON(initial))</script>
            <script nonce="\(nonce)">\(AdminPageScript.source)</script>
            </body></html>
            """
        return AdminHTML.response(nonce: nonce, body: body)
    }

    /// A route's heading and summary as the script will keep them; the charts appear when it runs.
    private static func summary(_ route: RouteConfig) -> String {
        let name = AdminHTML.escape(route.name)
        return """
            <section class="card route" data-route="\(name)"><div class="head"><h2>\(name)</h2></div>
            <p class="muted">primary \(AdminHTML.escape(route.primary.revision))\(route.canary.map { ", canary " + AdminHTML.escape($0.arm.revision) } ?? "")</p></section>
            """
    }

    private static let style = """
        :root { --bg: #f4f5f7; --card: #fff; --ink: #1d2330; --muted: #667085; --line: #e3e6ea; --primary: #2f6fdf; --canary: #e07a10;
          --ok: #2e9e5b; --c4xx: #d9a400; --c5xx: #d93b3b; --failed: #8c1c1c; --abort: #98a2b3; --warn: #e0a100; --error: #d93b3b; --weight: #7c5cd6; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--ink); }
        header { display: flex; align-items: center; gap: 12px; padding: 10px 20px; background: #1d2330; color: #fff; }
        header h1 { font-size: 18px; margin: 0; } header a, header .link { color: #cdd6f4; }
        header form { display: inline; } .spacer { flex: 1; } .role { text-transform: uppercase; font-size: 12px; letter-spacing: .05em; }
        .link { background: none; border: 0; padding: 0; font: inherit; text-decoration: underline; cursor: pointer; }
        .pill { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #2e9e5b; color: #fff; }
        .pill.off { background: #98a2b3; } #updated { color: #aab; font-size: 12px; }
        main { padding: 12px 20px 0; } .card { background: var(--card); border-radius: 8px; box-shadow: 0 1px 3px #0002; padding: 12px 16px; margin-bottom: 14px; }
        #eventlog { margin: 0 20px 20px; } h2 { font-size: 16px; margin: 0; } h3 { font-size: 13px; margin: 0 0 4px; color: var(--muted); font-weight: 600; }
        .head, .part-head { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
        .phase { font-weight: 600; padding: 2px 8px; border-radius: 4px; background: #e8edf7; }
        .phase.Failed, .phase.Held { background: #fde2e2; } .phase.Succeeded, .phase.Promoted { background: #dff3e6; }
        .big { font-size: 20px; font-weight: 700; } .muted { color: var(--muted); margin: 4px 0; } .message { margin: 6px 0; }
        .verbs { margin-left: auto; display: flex; gap: 6px; } .verbs button { font: inherit; font-size: 13px; padding: 3px 10px; border-radius: 4px;
          border: 1px solid #b8c0cc; background: #fff; cursor: pointer; } .verbs button.danger { border-color: #d93b3b; color: #b42318; }
        .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(400px, 1fr)); gap: 10px 18px; margin-top: 8px; }
        svg.chart { width: 100%; height: 120px; display: block; } svg .axis { stroke: var(--line); } svg text { font-size: 10px; fill: var(--muted); }
        .s-primary { stroke: var(--primary); } .s-canary { stroke: var(--canary); } .s-weight { stroke: var(--weight); }
        .s-p99 { stroke-dasharray: 4 3; } path.line { fill: none; stroke-width: 1.6; }
        .m-warn { stroke: var(--warn); } .m-error { stroke: var(--error); } .m-weight { stroke: var(--weight); stroke-dasharray: 2 3; } line.mark { stroke-width: 1.2; opacity: .8; }
        .f-ok { fill: var(--ok); } .f-4xx { fill: var(--c4xx); } .f-5xx { fill: var(--c5xx); } .f-abort { fill: var(--abort); }
        .f-primary { fill: var(--primary); } .f-canary { fill: var(--canary); } .f-threshold { fill: var(--error); } .f-track { fill: #eef0f3; }
        .legend { font-size: 12px; color: var(--muted); } .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 3px 0 8px; }
        .legend i.k-primary { background: var(--primary); } .legend i.k-canary { background: var(--canary); } .legend i.k-weight { background: var(--weight); }
        .legend i.k-ok { background: var(--ok); } .legend i.k-4xx { background: var(--c4xx); } .legend i.k-5xx { background: var(--c5xx); }
        .legend i.k-failed { background: var(--failed); } .legend i.k-abort { background: var(--abort); } .legend i.k-warn { background: var(--warn); }
        .legend i.k-error { background: var(--error); }
        table { border-collapse: collapse; width: 100%; font-size: 12px; } td, th { text-align: left; padding: 2px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { color: var(--muted); font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
        .sev { font-size: 11px; font-weight: 700; text-transform: uppercase; } .sev.warn { color: #a66f00; } .sev.error { color: #b42318; } .sev.info { color: var(--muted); }
        .verdict.fail { color: #b42318; } .verdict.pass { color: #1f7a45; }
        #notice.bad { background: #fde2e2; border-color: #f3a5a5; }
        #notice { margin: 10px 20px 0; padding: 8px 12px; border-radius: 6px; background: #fff7e0; border: 1px solid #f0d58a; }
        """
}
