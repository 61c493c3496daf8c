#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe), stdlib only.

Usage: cdp_browser.py STEPS.json REPORT.json PIDFILE
STEPS.json: {"chromium": "/usr/bin/chromium", "width": 1400, "height": 1000, "steps": [...]}, each step one of
  {"navigate": URL}                                     load URL and wait (bounded) for its load event
  {"wait": JS, "timeout": S}                            poll JS until truthy, else fail
  {"eval": JS, "as": NAME}                              record JS's value under NAME
  {"watch": JS, "until": JS, "timeout": S, "as": NAME}  record each distinct value of JS until `until` is truthy
  {"screenshot": PATH}                                  capture a PNG of the viewport to PATH
REPORT.json: {"results": {...}, "errors": [...], "failed": null or why, "screenshot": {...}}.
Errors: console.error/assert calls, uncaught exceptions, Log entries of level error, CSP violations.
Chromium runs in its own process group (its pid in PIDFILE, so the test can kill the group whatever happens);
this script kills that group on every way out.
"""
import base64, fcntl, json, os, select, signal, subprocess, sys, tempfile, time, zlib

CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' line ' + e.lineNumber);
});
"""


class Browser:
    def __init__(self, chromium, width, height, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # Above 3 and 4, so that the child's dup2 onto 3 and 4 never lands on its own source (which would keep
        # that descriptor close-on-exec).
        to_chrome_r, from_chrome_w = (self.high(fd) for fd in (to_chrome_r, from_chrome_w))

        def wire():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        args = [chromium, "--headless=new", "--no-sandbox", "--remote-debugging-pipe", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update", "--mute-audio",
                "--hide-scrollbars", "--user-data-dir=" + profile, "--window-size=%d,%d" % (width, height), "about:blank"]
        self.process = subprocess.Popen(args, preexec_fn=wire, close_fds=False, start_new_session=True,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.session = None
        self.errors = []

    @staticmethod
    def high(fd):
        moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(fd)
        return moved

    def kill(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def send(self, method, params=None, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        return self.next_id

    def call(self, method, params=None, session=True, timeout=15):
        wanted = self.send(method, params, session)
        deadline = time.time() + timeout
        while True:
            message = self.receive(deadline)
            if message is None:
                raise RuntimeError("no answer to %s within %ss" % (method, timeout))
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError("%s: %s" % (method, message["error"]))
                return message.get("result", {})

    def receive(self, deadline):
        """The next message (events are noted on the way), or None at the deadline."""
        while b"\0" not in self.buffer:
            left = deadline - time.time()
            if left <= 0 or not select.select([self.from_chrome], [], [], left)[0]:
                return None
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed its pipe (exit status %s)" % self.process.poll())
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        message = json.loads(raw)
        self.note(message)
        return message

    def pump(self, seconds):
        deadline = time.time() + seconds
        while self.receive(deadline) is not None:
            pass

    def note(self, message):
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            self.errors.append("exception: %s (line %s)" % (text, details.get("lineNumber")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            values = [a.get("value", a.get("description", "")) for a in params.get("args", [])]
            self.errors.append("console.%s: %s" % (params["type"], " ".join(map(str, values))))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            self.errors.append("log (%s): %s %s" % (entry.get("source"), entry.get("text"), entry.get("url", "")))

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError("evaluating %r: %s" % (expression, result["exceptionDetails"].get("text")))
        return result["result"].get("value")

    def open_page(self, width, height):
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        for method in ("Runtime.enable", "Log.enable", "Page.enable"):
            self.call(method)
        self.call("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_PROBE})
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def poll(browser, expression, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = browser.evaluate(expression)
        if value:
            return value
        browser.pump(0.2)
    return None


def png_summary(data, decode=True):
    """Width, height and (decode) how many distinct colours its pixels have (8-bit RGB or RGBA PNGs)."""
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    depth, colour = data[24], data[25]
    channels = {2: 3, 6: 4}.get(colour)
    summary = {"width": width, "height": height, "bytes": len(data)}
    if not decode or depth != 8 or channels is None:
        return summary
    chunks, i = b"", 8
    while i < len(data):
        length = int.from_bytes(data[i:i + 4], "big")
        if data[i + 4:i + 8] == b"IDAT":
            chunks += data[i + 8:i + 8 + length]
        i += 12 + length
    raw = zlib.decompress(chunks)
    stride = width * channels
    previous = bytearray(stride)
    colours = set()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = previous[x]
            c = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(width):
            colours.add(bytes(line[x * channels:x * channels + 3]))
        previous = line
    summary["distinctColours"] = len(colours)
    return summary


def run(spec, report, pidfile):
    profile = tempfile.mkdtemp(prefix="canarygate-chromium-")
    browser = Browser(spec.get("chromium", "/usr/bin/chromium"), spec["width"], spec["height"], profile)
    with open(pidfile, "w") as f:
        f.write(str(browser.process.pid))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        browser.open_page(spec["width"], spec["height"])
        for step in spec["steps"]:
            if "navigate" in step:
                browser.call("Page.navigate", {"url": step["navigate"]})
                if not poll(browser, "document.readyState === 'complete' && location.href !== 'about:blank'", 15):
                    raise RuntimeError("%s did not load" % step["navigate"])
            elif "wait" in step:
                if not poll(browser, step["wait"], step.get("timeout", 10)):
                    raise RuntimeError("not true within %ss: %s" % (step.get("timeout", 10), step["wait"]))
            elif "eval" in step:
                report["results"][step["as"]] = browser.evaluate(step["eval"])
            elif "watch" in step:
                seen, deadline = [], time.time() + step.get("timeout", 10)
                while time.time() < deadline:
                    value = browser.evaluate(step["watch"])
                    if not seen or seen[-1] != value:
                        seen.append(value)
                    if browser.evaluate(step["until"]):
                        break
                    browser.pump(0.2)
                report["results"][step["as"]] = seen
            elif "screenshot" in step:
                data = base64.b64decode(browser.call("Page.captureScreenshot", {"format": "png"})["data"])
                with open(step["screenshot"], "wb") as f:
                    f.write(data)
                report["screenshot"] = png_summary(data, decode=False)
                # The colours are counted on a tenth-scale copy: decoding 1400x1000 pixels in Python takes seconds.
                clip = {"x": 0, "y": 0, "width": spec["width"], "height": spec["height"], "scale": 0.1}
                small = base64.b64decode(browser.call("Page.captureScreenshot", {"format": "png", "clip": clip})["data"])
                report["screenshot"]["distinctColours"] = png_summary(small)["distinctColours"]
        browser.pump(0.3)
        report["results"]["cspViolations"] = browser.evaluate("window.__cspViolations || []")
    except Exception as error:  # reported, not raised: the test prints it with the errors seen so far
        report["failed"] = str(error)
    finally:
        report["errors"] = browser.errors
        browser.kill()
        subprocess.run(["rm", "-rf", profile])


def main():
    spec_path, report_path, pidfile = sys.argv[1:4]
    with open(spec_path) as f:
        spec = json.load(f)
    report = {"results": {}, "errors": [], "failed": None, "screenshot": None}
    try:
        run(spec, report, pidfile)
    finally:
        with open(report_path, "w") as f:
            json.dump(report, f)


if __name__ == "__main__":
    main()
