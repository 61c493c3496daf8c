// GET /login (the form), POST /login (a token in, the session cookie out) and POST /logout, for the admin page.
import Config
import Foundation

enum AdminLogin {
    /// `GET /login` shows the form; `POST /login` with `token=…` (form-encoded) sets the cookie for the role the
    /// token proves and sends the browser to `/`, or shows the form again with a 401.
    static func respond(_ request: AdminRequest, admin: AdminConfig, sessions: AdminSessionKey, now: Int) -> AdminResponse {
        let open = admin.readerToken == nil && admin.operatorToken == nil
        switch request.method {
        case "GET":
            return form(message: open ? "This admin API has no tokens: its page is open to this host without a login." : nil)
        case "POST":
            guard let token = formField("token", in: request.body) else {
                return form(message: "Enter a token.", status: "400 Bad Request")
            }
            let role: AdminRole
            let signer: AdminToken
            if let op = admin.operatorToken, op.matches(token[...]) {
                (role, signer) = (.operator, op)
            } else if let reader = admin.readerToken, reader.matches(token[...]) {
                (role, signer) = (.reader, reader)
            } else {
                return form(
                    message: open ? "This admin API has no tokens to log in with." : "That token is not valid here.",
                    status: "401 Unauthorized")
            }
            let cookie = sessions.value(role: role, token: signer, expires: now + AdminSessionKey.lifetimeSeconds)
            return AdminResponse(
                status: "303 See Other", body: "logged in as \(role.rawValue)\n",
                extraHeaders: [("Location", "/"), ("Set-Cookie", AdminSessionKey.setCookie(cookie)), ("Cache-Control", "no-store")])
        default:
            return AdminResponse(status: "405 Method Not Allowed", body: "method not allowed\n")
        }
    }

    /// `POST /logout`: the browser forgets the cookie.
    static func logout() -> AdminResponse {
        AdminResponse(
            status: "303 See Other", body: "logged out\n",
            extraHeaders: [("Location", "/login"), ("Set-Cookie", AdminSessionKey.clearCookie), ("Cache-Control", "no-store")])
    }

    /// The value of `name` in an `application/x-www-form-urlencoded` body, decoded (`+` is a space, `%XX` a byte).
    static func formField(_ name: String, in body: [UInt8]) -> [UInt8]? {
        for pair in body.split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, Array(parts[0]) == Array(name.utf8) else { continue }
            let value = Array(parts[1])
            var out: [UInt8] = []
            var i = 0
            while i < value.count {
                if value[i] == UInt8(ascii: "%"), i + 2 < value.count, let high = AdminSessionKey.hexDigit(value[i + 1]),
                    let low = AdminSessionKey.hexDigit(value[i + 2])
                {
                    out.append(high << 4 | low)
                    i += 3
                } else {
                    out.append(value[i] == UInt8(ascii: "+") ? 0x20 : value[i])
                    i += 1
                }
            }
            return out.isEmpty ? nil : out
        }
        return nil
    }

    private static func form(message: String?, status: String = "200 OK") -> AdminResponse {
        let nonce = AdminHTML.nonce()
        let note = message.map { "<p class=\"note\">\(AdminHTML.escape($0))</p>" } ?? ""
        let body = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>canarygate: log in</title>
            <meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
            <style nonce="\(nonce)">
            body { font: 15px/1.4 system-ui, sans-serif; background: #f4f5f7; color: #1d2330; display: grid; place-items: center; min-height: 90vh; }
            form { background: #fff; padding: 24px 28px; border-radius: 8px; box-shadow: 0 1px 4px #0002; min-width: 320px; }
            h1 { font-size: 18px; margin: 0 0 12px; } input { width: 100%; box-sizing: border-box; padding: 8px; margin: 6px 0 12px; font: inherit; }
            button { padding: 8px 16px; font: inherit; } .note { color: #8a4b00; max-width: 320px; } .hint { color: #667; font-size: 13px; }
            </style></head>
            <body><form method="post" action="/login">
            <h1>canarygate admin</h1>\(note)
            <label for="token">Token (the reader's or the operator's)</label>
            <input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
            <button type="submit">Log in</button>
            <p class="hint">The token stays on the server: the browser keeps a signed session cookie for 12 hours.
            <a href="/">The page</a></p>
            </form></body></html>
            """
        return AdminHTML.response(status: status, nonce: nonce, body: body)
    }
}
