#!/usr/bin/env python3
# Purpose: the driver of benchmarks/fleet/run.sh: etcd, nginx backends and N canarygate replicas; coordination cost, failure and failover times.
"""Run through benchmarks/fleet/run.sh (which owns the temporary directory and the exit trap).

Every process started here is written to $TMP/pids (pid, name, command name; one a line) before anything waits
on it, so that run.sh's trap can stop it even if this driver dies; the driver also stops them itself.
The report (markdown) goes to stdout, progress to stderr.
"""
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

TMP = os.environ["FLEET_TMP"]
BIN = os.environ["CANARYGATE_BIN"]
SMALL = int(os.environ.get("SMALL_REPLICAS", "3"))
LARGE = int(os.environ.get("REPLICAS", "50"))
WINDOW = float(os.environ.get("WINDOW", "30"))
REPEATS = int(os.environ.get("REPEATS", "3"))
RATE = float(os.environ.get("RATE", "10"))
FAIL_RATE = float(os.environ.get("FAIL_RATE", "100"))
FAILOVER = int(os.environ.get("FAILOVER", "1"))
CONCURRENCY = int(os.environ.get("POLL_CONCURRENCY", "8"))
IDLE_WINDOW = float(os.environ.get("IDLE_WINDOW", "10"))
ETCD_DIR_ROOT = os.environ.get("ETCD_DIR_ROOT", "/dev/shm")
CLK_TCK = os.sysconf("SC_CLK_TCK")
ANALYSIS_INTERVAL = 10.0
PUBLISH_INTERVAL = 0.5
TICK = 0.1


def log(msg):
    print(f"[fleet {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes

class Procs:
    """Every child, registered in $TMP/pids before anything waits on it."""

    def __init__(self):
        self.children = []

    def spawn(self, name, argv, logfile):
        with open(logfile, "ab") as out:
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        with open(os.path.join(TMP, "pids"), "a") as f:
            f.write(f"{p.pid} {name} {os.path.basename(argv[0])[:15]}\n")
        self.children.append((name, p))
        return p

    def stop(self, p, grace=5.0):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop_all(self):
        for _, p in self.children:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 5
        for name, p in self.children:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} (pid {p.pid}) did not exit on SIGTERM; SIGKILL")
                p.kill()
                p.wait()


PROCS = Procs()


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def wait_port(p, port, name, logfile, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise SystemExit(f"{name} exited during startup; log {logfile}:\n{open(logfile).read()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{name} did not listen on :{port} within {timeout} s")


def http(port, path, method="GET", timeout=3.0):
    """One request (the admin API closes every connection); (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout) as s:
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body.decode("utf-8", "replace")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(") ", 1)[1].split()
    return int(rest[11]) + int(rest[12])


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m:
            try:
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
            except ValueError:
                pass
    return out


# ---------------------------------------------------------------- etcd and backends

class Etcd:
    def __init__(self):
        self.client, self.peer = free_ports(2)
        root = ETCD_DIR_ROOT if os.path.isdir(ETCD_DIR_ROOT) and os.access(ETCD_DIR_ROOT, os.W_OK) else TMP
        self.data = os.path.join(root, f"canarygate-fleet-etcd.{os.getpid()}")
        with open(os.path.join(TMP, "etcd-data-dir"), "w") as f:
            f.write(self.data + "\n")
        fs = subprocess.run(["stat", "-f", "-c", "%T", root], capture_output=True, text=True).stdout.strip()
        self.where = f"{self.data} ({fs})"
        url = f"http://127.0.0.1:{self.client}"
        peer = f"http://127.0.0.1:{self.peer}"
        self.url = url
        self.log = os.path.join(TMP, "etcd.log")
        log(f"starting etcd on {url}, data in {self.where}")
        self.p = PROCS.spawn("etcd", [
            "/usr/bin/etcd", "--name", "default", "--data-dir", self.data,
            "--listen-client-urls", url, "--advertise-client-urls", url,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"default={peer}",
            "--heartbeat-interval", "50", "--election-timeout", "500",
            "--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn"], self.log)
        deadline = time.monotonic() + 15
        while True:
            try:
                if '"health":"true"' in http(self.client, "/health")[1]:
                    break
            except OSError:
                pass
            if self.p.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"etcd not healthy; log:\n{open(self.log).read()[-3000:]}")
            time.sleep(0.05)

    def metrics(self):
        return parse_metrics(http(self.client, "/metrics")[1])


class Nginx:
    """One single-process nginx (master_process off), so SIGKILL of its pid is a hard failure of that backend."""

    def __init__(self, name, servers):
        self.name = name
        self.servers = servers
        self.dir = os.path.join(TMP, name)
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        user = "user root;" if os.getuid() == 0 else ""
        blocks = "\n".join(
            f'    server {{ listen 127.0.0.1:{port}; location / {{ add_header X-Arm {arm}; return 200 "ok\\n"; }} }}'
            for port, arm in servers)
        t = os.path.join(self.dir, "tmp")
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(f"""{user}
worker_processes 1;
daemon off;
master_process off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    default_type text/plain;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path {t}/body; proxy_temp_path {t}/proxy; fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi; scgi_temp_path {t}/scgi;
{blocks}
}}
""")
        self.start()

    def start(self):
        logfile = os.path.join(self.dir, "stdout.log")
        self.p = PROCS.spawn(f"nginx-{self.name}", ["nginx", "-p", self.dir, "-c", self.conf, "-e", f"{self.dir}/error.log"], logfile)
        for port, _ in self.servers:
            wait_port(self.p, port, f"nginx {self.name}", logfile)

    def kill9(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()


# ---------------------------------------------------------------- the fleet

class Replica:
    def __init__(self, name, listen, admin):
        self.name, self.listen, self.admin = name, listen, admin
        self.p = None
        self.dir = os.path.join(TMP, name)

    def status(self):
        return json.loads(http(self.admin, "/status")[1])

    def metrics(self):
        return parse_metrics(http(self.admin, "/metrics")[1])


def replica_yaml(r, cluster, etcd_url, primary, canary):
    return f"""admin: {{ address: 127.0.0.1:{r.admin} }}
listeners: [ {{ name: http, address: 127.0.0.1:{r.listen} }} ]
threads: 1
cluster:
  name: {cluster}
  replica: {r.name}
  etcd: ["{etcd_url}"]
routes:
  - name: web
    primary: {{ revision: v1, endpoints: ["127.0.0.1:{primary}"] }}
    canary:  {{ revision: v2, endpoints: ["127.0.0.1:{canary}"] }}
    analysis:
      interval: {int(ANALYSIS_INTERVAL)}s
      stepWeight: 10
      maxWeight: 50
      requireEvidence: true
"""


def web(doc):
    return next(x for x in doc["routes"] if x["name"] == "web")


class Fleet:
    def __init__(self, n, cluster, etcd, primary_port, canary_port, own_canary_port):
        self.n, self.cluster, self.etcd = n, cluster, etcd
        ports = free_ports(2 * n)
        self.replicas = [Replica(f"r{i + 1:02d}", ports[2 * i], ports[2 * i + 1]) for i in range(n)]
        # The last replica (a follower: the first one started leads) has a canary backend of its own.
        self.failing = self.replicas[-1]
        self.load = None
        self.load_out = os.path.join(TMP, f"{cluster}-load.json")
        log(f"starting {n} replicas of fleet '{cluster}'")
        for r in self.replicas:
            os.makedirs(r.dir, exist_ok=True)
            with open(os.path.join(r.dir, "canarygate.yaml"), "w") as f:
                f.write(replica_yaml(r, cluster, etcd.url, primary_port, own_canary_port if r is self.failing else canary_port))
        self.start(self.replicas[0])
        self.wait(lambda: self.replicas[0].status()["cluster"]["role"] == "leader", 15, "the first replica to lead")
        for batch in range(1, n, 10):
            group = self.replicas[batch:batch + 10]
            for r in group:
                self.start(r, wait=False)
            for r in group:
                wait_port(r.p, r.admin, r.name, os.path.join(r.dir, "canarygate.log"))
        self.wait(lambda: all(weight(r) == 10 for r in self.replicas), 60, "every replica at canary weight 10")
        self.leader = self.find_leader()
        log(f"fleet '{cluster}': {n} replicas at weight 10, leader {self.leader.name}")

    def start(self, r, wait=True):
        logfile = os.path.join(r.dir, "canarygate.log")
        r.p = PROCS.spawn(r.name, [BIN, "run", "--config", os.path.join(r.dir, "canarygate.yaml")], logfile)
        if wait:
            wait_port(r.p, r.admin, r.name, logfile)

    @staticmethod
    def wait(cond, timeout, what):
        deadline = time.monotonic() + timeout
        last = "the condition was false"
        while time.monotonic() < deadline:
            try:
                if cond():
                    return
            except (OSError, KeyError, ValueError, StopIteration, TypeError) as e:
                last = f"{type(e).__name__}: {e}"
            time.sleep(0.2)
        raise SystemExit(f"timed out after {timeout} s waiting for {what} ({last})")

    def find_leader(self):
        names = {r.status()["cluster"].get("leader") for r in self.alive()}
        if len(names) != 1 or None in names:
            raise SystemExit(f"replicas disagree on the leader: {names}")
        name = names.pop()
        return next(r for r in self.replicas if r.name == name)

    def alive(self):
        return [r for r in self.replicas if r.p.poll() is None]

    def start_load(self):
        targets = [f"{r.listen}:{FAIL_RATE if r is self.failing else RATE}" for r in self.replicas]
        self.load = PROCS.spawn(f"load-{self.cluster}", [sys.executable, os.path.join(os.path.dirname(__file__), "load.py"),
                                                           self.load_out] + targets, os.path.join(TMP, f"{self.cluster}-load.log"))

    def stop(self):
        counts = {}
        if self.load:
            PROCS.stop(self.load)
            try:
                with open(self.load_out) as f:
                    counts = json.load(f)
            except (OSError, ValueError):
                pass
        for r in self.replicas:
            if r.p.poll() is None:
                r.p.terminate()
        for r in self.replicas:
            PROCS.stop(r.p)
        return counts


def weight(r):
    return web(r.status())["canaryWeight"]


# ---------------------------------------------------------------- coordination cost

OPS = ["range", "put", "txn", "delete", "lease_grant", "lease_keepalive", "lease_revoke", "watch"]


def replica_counters(r):
    m = r.metrics()
    c = {op: m.get(f'canarygate_cluster_etcd_requests_total{{op="{op}"}}', 0.0) for op in OPS}
    c["sent"] = m.get('canarygate_cluster_etcd_bytes_total{direction="sent"}', 0.0)
    c["received"] = m.get('canarygate_cluster_etcd_bytes_total{direction="received"}', 0.0)
    c["errors"] = m.get("canarygate_cluster_etcd_errors_total", 0.0)
    c["cpu"] = cpu_ticks(r.p.pid)
    return c


ETCD_SERIES = re.compile(
    r"^(etcd_mvcc_(put|txn|range|delete)_total|etcd_debugging_mvcc_(put|range|txn|delete|events)_total"
    r"|etcd_network_client_grpc_(received|sent)_bytes_total|etcd_disk_wal_fsync_duration_seconds_(count|sum)"
    r"|etcd_disk_backend_commit_duration_seconds_(count|sum)|grpc_server_handled_total\{[^}]*grpc_code=\"OK\""
    r"|etcd_debugging_mvcc_pending_events_total|etcd_debugging_lease_renewed_total)")


def cost(fleet, window):
    """Counters of every replica, etcd's metrics and CPU, before and after `window` seconds of steady load."""
    log(f"fleet '{fleet.cluster}': measuring coordination cost over {window:.0f} s")
    e0, ecpu0 = fleet.etcd.metrics(), cpu_ticks(fleet.etcd.p.pid)
    before = {r.name: replica_counters(r) for r in fleet.replicas}
    t0 = time.monotonic()
    time.sleep(window)
    after = {r.name: replica_counters(r) for r in fleet.replicas}
    t1 = time.monotonic()
    e1, ecpu1 = fleet.etcd.metrics(), cpu_ticks(fleet.etcd.p.pid)
    secs = t1 - t0
    delta = {n: {k: after[n][k] - before[n][k] for k in after[n]} for n in after}
    return dict(secs=secs, delta=delta, etcd={k: e1[k] - e0.get(k, 0.0) for k in e1 if k in e0 or ETCD_SERIES.match(k)},
                etcd_cpu=(ecpu1 - ecpu0) / CLK_TCK, leader=fleet.leader.name,
                rss={r.name: rss_kb(r.p.pid) for r in fleet.replicas}, etcd_rss=rss_kb(fleet.etcd.p.pid))


def fmt(x, digits=1):
    return f"{x:,.{digits}f}"


def cost_report(fleet, c, idle=False):
    secs = c["secs"]
    load = "no load" if idle else f"load: {RATE:g} req/s through each replica, {FAIL_RATE:g} through {fleet.failing.name}"
    lines = [f"#### N = {fleet.n} replicas, {secs:.1f} s window ({load})", ""]
    leader = c["delta"][c["leader"]]
    followers = [d for n, d in c["delta"].items() if n != c["leader"]]

    def per_s(d, key):
        return d[key] / secs

    def writes(d):
        return d["put"] + d["txn"]

    def med(f):
        vals = [f(d) for d in followers]
        return statistics.median(vals), min(vals), max(vals)

    lines.append("| per replica | leader | follower median (min–max) |")
    lines.append("|---|---|---|")
    rows = [
        ("etcd writes (put + txn) / s", lambda d: writes(d) / secs, 2),
        (f"etcd writes per publish interval ({PUBLISH_INTERVAL:g} s)", lambda d: writes(d) / secs * PUBLISH_INTERVAL, 2),
        (f"etcd writes per analysis interval ({ANALYSIS_INTERVAL:g} s)", lambda d: writes(d) / secs * ANALYSIS_INTERVAL, 1),
    ]
    rows += [(f"`{op}` requests / s", (lambda op: lambda d: per_s(d, op))(op), 2) for op in OPS if op != "watch"]
    rows += [
        ("watch streams opened in the window", lambda d: d["watch"], 0),
        ("bytes sent / s", lambda d: per_s(d, "sent"), 0),
        ("bytes received / s (watch events included)", lambda d: per_s(d, "received"), 0),
        (f"bytes sent + received per analysis interval ({ANALYSIS_INTERVAL:g} s)",
         lambda d: (d["sent"] + d["received"]) / secs * ANALYSIS_INTERVAL, 0),
        ("etcd errors in the window", lambda d: d["errors"], 0),
        ("CPU, % of one core (utime+stime)", lambda d: 100 * d["cpu"] / CLK_TCK / secs, 2),
    ]
    for label, f, digits in rows:
        m, lo, hi = med(f) if followers else (0, 0, 0)
        lines.append(f"| {label} | {fmt(f(leader), digits)} | {fmt(m, digits)} ({fmt(lo, digits)}–{fmt(hi, digits)}) |")
    total_writes = sum(writes(d) for d in c["delta"].values()) / secs
    total_bytes = sum(d["sent"] + d["received"] for d in c["delta"].values()) / secs
    total_cpu = sum(d["cpu"] for d in c["delta"].values()) / CLK_TCK / secs * 100
    rss = sorted(c["rss"].values())
    lines += ["", f"Fleet total (replicas' own counters): **{fmt(total_writes, 1)} etcd writes/s**, "
              f"{fmt(total_bytes / 1024, 1)} KiB/s to and from etcd, replicas' CPU {fmt(total_cpu, 1)} % of one core "
              f"(all {fleet.n}), etcd's CPU **{fmt(100 * c['etcd_cpu'] / secs, 1)} %** of one core. "
              f"RSS: replicas {fmt(sum(rss) / 1024, 0)} MiB in all (median {fmt(statistics.median(rss) / 1024, 1)} MiB, "
              f"max {fmt(rss[-1] / 1024, 1)} MiB), etcd {fmt(c['etcd_rss'] / 1024, 1)} MiB.", ""]
    for what, series in [("WAL fsync", "etcd_disk_wal_fsync_duration_seconds"), ("backend commit", "etcd_disk_backend_commit_duration_seconds")]:
        count, total = c["etcd"].get(series + "_count", 0.0), c["etcd"].get(series + "_sum", 0.0)
        if count > 0:
            lines[-2] += f" etcd's mean {what}: {1000 * total / count:.2f} ms ({count / secs:.1f}/s)."
    lines.append("etcd's own /metrics, per second over the window (non-zero deltas):")
    lines.append("")
    lines.append("| series | per second |")
    lines.append("|---|---|")
    for k in sorted(c["etcd"]):
        if ETCD_SERIES.match(k) and c["etcd"][k] > 0:
            lines.append(f"| `{k}` | {fmt(c['etcd'][k] / secs, 2)} |")
    lines.append("")
    return lines


# ---------------------------------------------------------------- failure: one replica's canary dies

class KeyWatch:
    """The driver's own watch on the fleet's keys (etcd's JSON gateway, one stream on a thread): when the failing
    replica's record with its alarm, and the leader's state at weight 0, reached etcd (timestamped on arrival here)."""

    def __init__(self, etcd, cluster, failing):
        import base64
        import http.client
        import threading
        prefix = f"/canarygate/{cluster}/".encode()
        self.b64 = base64
        self.record_key = prefix + b"fleet/replicas/" + failing.name.encode()
        self.state_key = prefix + b"control/state"
        self.alarm_at = self.state_at = None
        self.conn = http.client.HTTPConnection("127.0.0.1", etcd.client, timeout=60)
        body = json.dumps({"create_request": {"key": base64.b64encode(prefix).decode(),
                                              "range_end": base64.b64encode(prefix[:-1] + bytes([prefix[-1] + 1])).decode()}})
        self.conn.request("POST", "/v3/watch", body, {"Content-Type": "application/json"})
        self.response = self.conn.getresponse()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        try:
            while True:
                line = self.response.readline()
                if not line:
                    return
                now = time.monotonic()
                for event in json.loads(line).get("result", {}).get("events", []):
                    kv = event.get("kv", {})
                    key = self.b64.b64decode(kv.get("key", ""))
                    value = json.loads(self.b64.b64decode(kv.get("value", "")) or b"null")
                    if key == self.record_key and value and value.get("alarms") and self.alarm_at is None:
                        self.alarm_at = now
                    if key == self.state_key and value and self.state_at is None and any(
                            r.get("route") == "web" and r.get("canaryWeight") == 0 for r in value.get("routes", [])):
                        self.state_at = now
        except (OSError, ValueError, AttributeError):
            return

    def close(self):
        self.conn.close()



async def poll_weight(r):
    """One /status of `r`: (sent, received, canary weight)."""
    sent = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", r.admin)
    writer.write(f"GET /status HTTP/1.1\r\nHost: 127.0.0.1:{r.admin}\r\nConnection: close\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    received = time.monotonic()
    body = data.partition(b"\r\n\r\n")[2]
    return sent, received, web(json.loads(body))["canaryWeight"]


async def watch_zero(replicas, deadline):
    """Polls every replica of `replicas` (at most CONCURRENCY requests at once, round robin) until each has
    shown weight 0; per replica (when the poll that saw 0 returned, the send time of the poll before it)."""
    pending = list(replicas)
    seen = {}
    last_sent = {r.name: None for r in replicas}
    queue = asyncio.Queue()
    for r in pending:
        queue.put_nowait(r)

    async def worker():
        while len(seen) < len(replicas) and time.monotonic() < deadline:
            r = await queue.get()
            if r.name in seen:
                continue
            try:
                sent, received, w = await poll_weight(r)
            except (OSError, ValueError, StopIteration):
                queue.put_nowait(r)
                continue
            if w == 0:
                seen[r.name] = (received, last_sent[r.name] or sent)
                if len(seen) == len(replicas):
                    for _ in range(CONCURRENCY):
                        queue.put_nowait(r)
            else:
                last_sent[r.name] = sent
                queue.put_nowait(r)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return seen


def rollback_once(fleet, nginx_own, k):
    """Kill -9 the failing replica's own canary backend; detection and propagation times."""
    failing = fleet.failing
    others = [r for r in fleet.alive() if r is not failing]
    # The guard judges only a whole second of the canary taking traffic; 3 s of load arms it.
    time.sleep(3)
    watch = KeyWatch(fleet.etcd, fleet.cluster, failing)
    time.sleep(0.2)
    weight_before = weight(failing)
    log(f"repetition {k}: kill -9 {failing.name}'s canary backend (nginx pid {nginx_own.p.pid})")
    t_fail = time.monotonic()
    nginx_own.kill9()
    # Detection: the failing replica alone, polled back to back.
    detect, prev = None, t_fail
    deadline = t_fail + 20
    while time.monotonic() < deadline:
        sent = time.monotonic()
        w = web(json.loads(http(failing.admin, "/status")[1]))["canaryWeight"]
        received = time.monotonic()
        if w == 0:
            detect = received
            break
        prev = sent
    if detect is None:
        raise SystemExit(f"{failing.name} did not drop its canary within 20 s")
    seen = asyncio.run(watch_zero(others, time.monotonic() + 20))
    watch.close()
    if len(seen) < len(others):
        missing = [r.name for r in others if r.name not in seen]
        raise SystemExit(f"still not at weight 0 after 20 s: {missing}")
    last = max(seen.values(), key=lambda v: v[0])
    slowest = max(seen, key=lambda n: seen[n][0])
    gaps = [v[0] - v[1] for v in seen.values()]
    result = dict(weight=weight_before, detection=detect - t_fail, detect_gap=detect - prev,
                  total_low=max(max(v[1] for v in seen.values()), prev) - t_fail,
                  propagation=last[0] - detect, total=last[0] - t_fail, slowest=slowest,
                  leader_zero=seen.get(fleet.leader.name, (None,))[0],
                  gap_max=max(gaps), gap_median=statistics.median(gaps),
                  alarm_at=watch.alarm_at and watch.alarm_at - t_fail, state_at=watch.state_at and watch.state_at - t_fail)
    if result["leader_zero"] is not None:
        result["leader_zero"] -= detect
    log(f"repetition {k}: detection {result['detection']:.3f} s, propagation {result['propagation']:.3f} s, "
        f"total {result['total']:.3f} s (slowest {slowest})")
    return result


def reset_rollout(fleet, nginx_own):
    """The rollout afresh at weight 10 (it steps up every interval it has evidence for): after a rollback, the
    failing replica's canary back and `retry` on the leader; before the first, `abort` and `retry`."""
    leader = fleet.leader
    if nginx_own.p.poll() is None:
        status, body = http(leader.admin, "/routes/web/abort", method="POST")
        if status != 200:
            raise SystemExit(f"abort refused: {status} {body}")
    Fleet.wait(lambda: web(leader.status())["rollout"]["phase"] == "Failed", 20, "the leader's rollout to be Failed")
    if nginx_own.p.poll() is not None:
        nginx_own.start()
    # No wait for the failing replica's record to drop its alarm: an alarm names its rollout, and `retry` starts a
    # new one, so the stale alarm no longer rolls it back (the check below would catch it if it did).
    status, body = http(leader.admin, "/routes/web/retry", method="POST")
    if status != 200:
        raise SystemExit(f"retry refused: {status} {body}")
    Fleet.wait(lambda: all(weight(r) == 10 for r in fleet.alive()), 60, "every replica back at weight 10 after retry")
    time.sleep(1)
    phase = web(leader.status())["rollout"]["phase"]
    if phase != "Progressing" or any(weight(r) != 10 for r in fleet.alive()):
        raise SystemExit(f"after retry the rollout did not stay at weight 10 (leader's phase {phase})")


# ---------------------------------------------------------------- failover

def failover(fleet, sig):
    """Stops the leader with `sig` (SIGTERM: it hands over before its drain; SIGKILL: its lease must run out); the
    times until the first and the last of the others name a new leader. The old leader is started again afterwards,
    so each failover starts from the whole fleet."""
    old = fleet.leader
    others = [r for r in fleet.alive() if r is not old]
    how = "SIGTERM" if sig == signal.SIGTERM else "kill -9"
    log(f"failover: {how} the leader {old.name}")
    t0 = time.monotonic()
    old.p.send_signal(sig)

    async def until_new_leader():
        seen = {}
        sem = asyncio.Semaphore(CONCURRENCY)

        async def one(r):
            while time.monotonic() < t0 + 30:
                async with sem:
                    try:
                        reader, writer = await asyncio.open_connection("127.0.0.1", r.admin)
                        writer.write(f"GET /status HTTP/1.1\r\nHost: 127.0.0.1:{r.admin}\r\nConnection: close\r\n\r\n".encode())
                        data = await reader.read()
                        writer.close()
                        doc = json.loads(data.partition(b"\r\n\r\n")[2])
                    except (OSError, ValueError):
                        continue
                leader = doc["cluster"].get("leader")
                if leader and leader != old.name:
                    seen[r.name] = (time.monotonic(), leader)
                    return
                await asyncio.sleep(0.02)

        await asyncio.gather(*(one(r) for r in others))
        return seen

    seen = asyncio.run(until_new_leader())
    if len(seen) < len(others):
        raise SystemExit(f"no new leader seen by {len(others) - len(seen)} replicas within 30 s")
    leaders = {v[1] for v in seen.values()}
    first = min(v[0] for v in seen.values()) - t0
    last = max(v[0] for v in seen.values()) - t0
    log(f"failover ({how}): new leader {leaders} seen by the first replica after {first:.3f} s, by all after {last:.3f} s")
    if len(leaders) != 1:
        raise SystemExit(f"replicas name different new leaders: {leaders}")
    # A SIGTERMed replica drains its clients' keep-alive connections (up to timeouts.drain): not part of the hand-over.
    PROCS.stop(old.p, grace=2.0)
    fleet.leader = next(r for r in fleet.replicas if r.name in leaders)
    fleet.start(old)
    Fleet.wait(lambda: old.status()["cluster"].get("leader") == fleet.leader.name, 30, f"{old.name} to rejoin as a follower")
    return dict(how=how, old=old.name, new=fleet.leader.name, first=first, last=last, others=len(others))


def failover_report(n, results):
    lines = [f"### Failover with N = {n}", "",
             f"The leader stopped, then every other replica's /status polled (~20 ms apart per replica, {CONCURRENCY} "
             f"requests at once) until it names a new leader; the stopped replica is started again before the next one. "
             f"SIGTERM: the leader writes its last state and revokes its lease before its drain. kill -9: its lease "
             f"(TTL 3 s, kept alive every second) must run out.", "",
             "| signal | old → new leader | first replica names it (s) | all others name it (s) |", "|---|---|---|---|"]
    for f in results:
        lines.append(f"| {f['how']} | {f['old']} → {f['new']} | {f['first']:.3f} | **{f['last']:.3f}** |")
    lines.append("")
    for how in ("SIGTERM", "kill -9"):
        last = [f["last"] for f in results if f["how"] == how]
        if last:
            lines.append(f"{how}: a new leader named by all {results[0]['others']} others after **{summary(last)} s** "
                         f"(min / median / max of {len(last)}).")
            lines.append("")
    return lines


# ---------------------------------------------------------------- main

def summary(values):
    s = sorted(values)
    return f"{s[0]:.3f} / {statistics.median(s):.3f} / {s[-1]:.3f}"


def main():
    report = []
    etcd = Etcd()
    ports = free_ports(3)
    backends = Nginx("backends", [(ports[0], "v1"), (ports[1], "v2")])
    own = Nginx("own-canary", [(ports[2], "v2-own")])
    log(f"nginx: primary :{ports[0]}, shared canary :{ports[1]}, the failing replica's own canary :{ports[2]}")
    etcd_version = subprocess.run(["/usr/bin/etcd", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    report += [f"- etcd: {etcd_version}, one member, data dir {etcd.where}; replicas: `threads: 1`, leaseTTL 3s and "
               f"publishInterval 500ms (defaults), control tick {TICK * 1000:.0f} ms; route `web`: stepWeight 10, maxWeight 50, "
               f"analysis interval {ANALYSIS_INTERVAL:g} s, requireEvidence (it steps up each interval the merged evidence "
               f"allows, so the weight during the cost windows is 10–40).", ""]

    for n, cluster in [(SMALL, f"bench{SMALL}"), (LARGE, f"bench{LARGE}")]:
        if n <= 0:
            continue
        fleet = Fleet(n, cluster, etcd, ports[0], ports[1], ports[2])
        try:
            if n == LARGE and IDLE_WINDOW > 0:
                time.sleep(2)
                report += [f"### Coordination cost without traffic, N = {n}", ""] + cost_report(fleet, cost(fleet, IDLE_WINDOW), idle=True)
            fleet.start_load()
            time.sleep(3)
            report += [f"### Coordination cost, N = {n}", ""] + cost_report(fleet, cost(fleet, WINDOW))
            if n == LARGE:
                results = []
                for k in range(1, REPEATS + 1):
                    reset_rollout(fleet, own)
                    results.append(rollback_once(fleet, own, k))
                    events = [e for e in fleet.leader.status().get("events", []) if "dead" in e or "Failed" in e]
                    if events:
                        log(f"leader events: {events[-2:]}")
                report += hard_failure_report(fleet, results)
                if FAILOVER > 0:
                    report += failover_report(n, [failover(fleet, sig) for _ in range(FAILOVER)
                                                  for sig in (signal.SIGTERM, signal.SIGKILL)])
        finally:
            counts = fleet.stop()
            if counts:
                total = {}
                for per in counts.values():
                    for k, v in per.items():
                        total[k] = total.get(k, 0) + v
                log(f"fleet '{cluster}' load answers: {total}")
                report += [f"Load through fleet '{cluster}', answers by status over the whole run: "
                           + ", ".join(f"{k}: {v:,}" for k, v in sorted(total.items())), ""]
    print("\n".join(report))


def hard_failure_report(fleet, results):
    lines = [f"### Hard failure on one replica → canary weight 0 on all {fleet.n}", "",
             f"{fleet.failing.name} (a follower) had a canary backend of its own; the run kills it with `kill -9` while "
             f"{FAIL_RATE:g} req/s go through {fleet.failing.name} (≈ {FAIL_RATE / 10:g} canary req/s at weight 10). Before "
             f"each kill the rollout is started afresh at weight 10 (`abort` or the previous rollback, then `retry`; "
             f"it would step up every {ANALYSIS_INTERVAL:g} s interval with evidence) and runs ≥ 3 s. "
             f"Detection: from the kill to {fleet.failing.name}'s /status showing canaryWeight 0 (polled back to back). "
             f"Propagation: from then to the last of the other {fleet.n - 1} replicas at 0 (polled round robin, "
             f"{CONCURRENCY} /status requests at once). Times are when the poll that saw 0 returned (an upper bound); "
             f"the resolution is the gap from the previous poll of that replica. The lower bound of the total: the latest "
             f"send time of a poll that still saw weight > 0.", "",
             f"Separately, the driver watches the fleet's keys at etcd and notes when {fleet.failing.name}'s record with "
             "its alarm (its urgent publish) and the leader's state at weight 0 (its txn) arrived: all columns are seconds "
             "after the kill.", "",
             "| repetition | weight before | detection | alarm at etcd | state (weight 0) at etcd | leader at 0 | last replica at 0 (total) "
             "| total, lower bound "
             "| propagation (detection → all) | slowest replica | detection poll gap (ms) | propagation poll gap median / max (ms) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def at(x):
        return f"{x:.3f}" if x is not None else "n/a"

    for k, r in enumerate(results, 1):
        lz = r["leader_zero"] + r["detection"] if r["leader_zero"] is not None else None
        lines.append(f"| {k} | {r['weight']} | {r['detection']:.3f} | {at(r['alarm_at'])} | {at(r['state_at'])} | {at(lz)} | **{r['total']:.3f}** "
                     f"| {r['total_low']:.3f} "
                     f"| {r['propagation']:.3f} | {r['slowest']} | {1000 * r['detect_gap']:.1f} "
                     f"| {1000 * r['gap_median']:.1f} / {1000 * r['gap_max']:.1f} |")
    lines += ["", f"min / median / max over {len(results)}: detection {summary([r['detection'] for r in results])} s, "
              f"propagation {summary([r['propagation'] for r in results])} s, "
              f"**total {summary([r['total'] for r in results])} s** (target < 1 s + one tick = {1 + TICK:.1f} s).", ""]
    return lines


if __name__ == "__main__":
    def terminated(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, terminated)
    try:
        main()
    finally:
        PROCS.stop_all()
