// The admin page's inline script: merges GET /events into its state and draws the routes, charts and events.

/// Vanilla JavaScript, no library: SVG charts drawn by hand. The page embeds the state of the moment in
/// `#initial`; the stream's `snapshot` (on every reconnect) replaces its events and adds the last two minutes of
/// samples (older ones stay: the snapshot is cut short to stay small), each `update` adds to it. The timeline
/// arrives with an overlap (AdminEventFeed), so samples are kept by route and `t`, events by `seq`. Parts of a
/// route are rewritten only when their HTML changed, so a button is not replaced under the pointer.
enum AdminPageScript {
    static let source = #"""
        "use strict";
        (() => {
        const initial = JSON.parse(document.getElementById("initial").textContent);
        const role = initial.role;
        const KEEP = 600, EVENTS = 200;
        const state = { status: null, samples: new Map(), events: new Map() };
        const drawn = new Map();

        const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
        const clock = (t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false });
        function fmt(x) {
          if (x === null || x === undefined || Number.isNaN(x)) return "–";
          if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toExponential(2);
          return String(Number(x.toPrecision(4)));
        }
        function nice(v) {
          if (!(v > 0)) return 1;
          const p = Math.pow(10, Math.floor(Math.log10(v))), m = v / p;
          return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
        }

        function reset(doc) { state.events = new Map(); merge(doc); }

        function merge(doc) {
          state.status = doc.status;
          for (const route of doc.timeline.routes) {
            let list = state.samples.get(route.name) || [];
            for (const s of route.samples) {
              let i = list.length - 1;
              while (i >= 0 && list[i].t > s.t) i--;
              if (i >= 0 && list[i].t === s.t) list[i] = s; else list.splice(i + 1, 0, s);
            }
            if (list.length > KEEP) list = list.slice(list.length - KEEP);
            state.samples.set(route.name, list);
          }
          const names = new Set(doc.status.routes.map((r) => r.name));
          for (const name of [...state.samples.keys()]) if (!names.has(name)) state.samples.delete(name);
          for (const e of doc.timeline.events) state.events.set(e.seq, e);
          if (state.events.size > EVENTS) {
            const seqs = [...state.events.keys()].sort((a, b) => a - b);
            for (const q of seqs.slice(0, seqs.length - EVENTS)) state.events.delete(q);
          }
          render();
        }

        // MARK: charts

        const W = 600, H = 120, L = 40, R = 8, T = 8, B = 16;

        function frame(t0, t1, ymax, unit) {
          return `<line class="axis" x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}"/>` +
            `<line class="axis" x1="${L}" y1="${T}" x2="${L}" y2="${H - B}"/>` +
            `<line class="axis" x1="${L}" y1="${T}" x2="${W - R}" y2="${T}"/>` +
            `<text x="${L - 4}" y="${T + 8}" text-anchor="end">${esc(fmt(ymax))}${unit}</text>` +
            `<text x="${L - 4}" y="${H - B}" text-anchor="end">0</text>` +
            `<text x="${L}" y="${H - 3}">${clock(t0)}</text><text x="${W - R}" y="${H - 3}" text-anchor="end">${clock(t1)}</text>`;
        }

        function marks(markers, x) {
          return markers.map((m) => {
            const X = x(m.t).toFixed(1);
            return `<line class="mark m-${m.kind}" x1="${X}" x2="${X}" y1="${T}" y2="${H - B}"><title>${esc(clock(m.t) + " " + m.text)}</title></line>`;
          }).join("");
        }

        function path(points, x, y, step) {
          let d = "", pen = false;
          for (const [t, v] of points) {
            if (v === null || v === undefined) { pen = false; continue; }
            const X = x(t).toFixed(1), Y = y(v).toFixed(1);
            d += !pen ? `M${X},${Y}` : step ? `H${X}V${Y}` : `L${X},${Y}`;
            pen = true;
          }
          return d;
        }

        function scales(win, ymax) {
          const span = win.t1 - win.t0;
          const x = (t) => L + (span > 0 ? (t - win.t0) / span : 1) * (W - L - R);
          const y = (v) => H - B - (Math.min(v, ymax) / ymax) * (H - B - T);
          return [x, y];
        }

        function lineChart(win, series, ymax, unit, markers, step) {
          const [x, y] = scales(win, ymax);
          const lines = series.map((s) => `<path class="line ${s.cls}" d="${path(s.points, x, y, step)}"/>`).join("");
          return `<svg class="chart" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none">${frame(win.t0, win.t1, ymax, unit)}${marks(markers, x)}${lines}</svg>`;
        }

        // Stacked: each response once. `failed` (upstream exchanges that failed) is mostly inside 5xx already (the
        // client's 502/504), so it is listed beside them, not stacked on them.
        const CLASSES = ["ok", "4xx", "5xx", "abort"];

        function outcomeChart(win, samples, arm) {
          const totals = samples.map((s) => (s[arm] ? CLASSES.reduce((n, c) => n + s[arm][c], 0) : 0));
          const ymax = nice(Math.max(1, ...totals));
          const [x, y] = scales(win, ymax);
          const width = Math.max(1, (W - L - R) / Math.max(samples.length, 60) - 0.4);
          let bars = "";
          for (const s of samples) {
            const a = s[arm];
            if (!a) continue;
            let base = 0;
            for (const c of CLASSES) {
              if (!a[c]) continue;
              const top = y(base + a[c]), bottom = y(base);
              bars += `<rect class="f-${c}" x="${(x(s.t) - width).toFixed(1)}" y="${top.toFixed(1)}" width="${width.toFixed(1)}" height="${Math.max(0.5, bottom - top).toFixed(1)}"/>`;
              base += a[c];
            }
          }
          return `<svg class="chart" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none">${frame(win.t0, win.t1, ymax, "/s")}${bars}</svg>`;
        }

        function legend(items) { return `<div class="legend">${items.map(([k, text]) => `<i class="k-${k}"></i>${esc(text)}`).join("")}</div>`; }

        function chartsHTML(r, samples, events) {
          if (samples.length === 0) return `<p class="muted">No samples yet: the timeline takes one a second.</p>`;
          const t1 = samples[samples.length - 1].t, t0 = Math.min(samples[0].t, t1 - 30);
          const win = { t0, t1 };
          const markers = [];
          for (let i = 1; i < samples.length; i++) {
            if (samples[i].weight !== samples[i - 1].weight) markers.push({ t: samples[i].t, kind: "weight", text: `weight ${samples[i - 1].weight} → ${samples[i].weight}` });
          }
          for (const e of events) if (e.severity !== "info" && e.t >= t0 && e.t <= t1) markers.push({ t: e.t, kind: e.severity, text: e.line });
          const arms = r.canary ? ["primary", "canary"] : ["primary"];
          const pts = (arm, field) => samples.map((s) => [s.t, s[arm] ? s[arm][field] : null]);
          const rps = arms.map((arm) => ({ cls: `s-${arm}`, points: pts(arm, "rps") }));
          const rpsMax = nice(Math.max(1, ...rps.flatMap((s) => s.points.map((p) => p[1] || 0))));
          const lat = arms.flatMap((arm) => [{ cls: `s-${arm}`, points: pts(arm, "p50") }, { cls: `s-${arm} s-p99`, points: pts(arm, "p99") }]);
          const latMax = nice(Math.max(1, ...lat.flatMap((s) => s.points.map((p) => p[1] || 0))));
          const weight = [{ cls: "s-weight", points: samples.map((s) => [s.t, s.weight]) }];
          const sum = (arm, c) => samples.reduce((n, s) => n + (s[arm] ? s[arm][c] : 0), 0);
          const outcome = (arm) => `<div><h3>Outcomes per second: ${arm}</h3>${outcomeChart(win, samples, arm)}` +
            legend(CLASSES.map((c) => [c, `${c} ${sum(arm, c)}`]).concat([["failed", `failed upstream ${sum(arm, "failed")}`]])) + `</div>`;
          const markLegend = legend([["weight", "weight change"], ["warn", "warn event"], ["error", "error event"]]);
          return `<div class="grid">` +
            `<div><h3>Canary weight (%)</h3>${lineChart(win, weight, 100, "%", markers, true)}${markLegend}</div>` +
            `<div><h3>Requests per second</h3>${lineChart(win, rps, rpsMax, "", [], false)}${legend(arms.map((a) => [a, a]))}</div>` +
            `<div><h3>Latency p50 (solid) and p99 (dashed), ms</h3>${lineChart(win, lat, latMax, "ms", markers, false)}${markLegend}</div>` +
            arms.map(outcome).join("") + `</div>`;
        }

        // MARK: evidence, hooks, verbs

        function evidenceHTML(r) {
          const e = r.evidence, ro = r.rollout;
          if (!e && !(ro && ro.lastVerdicts.length)) return "";
          let h = `<div class="grid">`;
          if (e) {
            const reach = e.eValue > 1 ? Math.min(1.25, Math.log(e.eValue) / Math.log(e.eValueThreshold)) : 0;
            const bw = 400, tx = bw * 0.8;
            h += `<div><h3>Sequential judge: e-value ${fmt(e.eValue)} of ${fmt(e.eValueThreshold)} (1/α, α = ${fmt(e.alpha)})${e.failed ? ", crossed" : ""}</h3>` +
              `<svg class="ebar" viewBox="0 0 ${bw} 18" width="${bw}" height="18"><rect class="f-track" x="0" y="3" width="${bw}" height="12"/>` +
              `<rect class="${e.failed ? "f-threshold" : "f-canary"}" x="0" y="3" width="${(tx * reach).toFixed(1)}" height="12"/>` +
              `<rect class="f-threshold" x="${tx}" y="0" width="2" height="18"><title>threshold 1/α</title></rect></svg>` +
              `<table><tr><th>class</th><th>e-value</th><th>α share</th><th>canary bad</th><th>primary bad</th><th>episodes</th></tr>` +
              Object.entries(e.classes).map(([name, c]) => `<tr><td>${esc(name)}</td><td class="num">${fmt(c.eValue)}</td><td class="num">${fmt(c.alpha)}</td>` +
                `<td class="num">${c.canary}</td><td class="num">${c.primary}</td><td class="num">${c.episodes}</td></tr>`).join("") +
              `</table><p class="muted">Comparison: ${e.comparisonIntervals} intervals compared, α remaining ${fmt(e.comparisonAlphaRemaining)}` +
              `${e.revision ? ` · evidence on ${esc(e.revision)}` : ""}</p></div>`;
          }
          if (ro && ro.lastVerdicts.length) {
            h += `<div><h3>Last verdicts</h3><table><tr><th>judge</th><th>outcome</th><th>summary</th><th>evidence</th></tr>` +
              ro.lastVerdicts.map((v) => `<tr><td>${esc(v.judge)}</td><td class="verdict ${esc(v.outcome)}">${esc(v.outcome)}</td><td>${esc(v.summary)}</td>` +
                `<td>${Object.entries(v.evidence).map(([k, x]) => `${esc(k)} ${fmt(x)}`).join(", ")}</td></tr>`).join("") + `</table></div>`;
          }
          return h + `</div>`;
        }

        function hooksHTML(r, events) {
          const ro = r.rollout;
          if (!ro) return "";
          const rows = [];
          const a = ro.afterPromotion;
          if (a) rows.push(["after promotion", `${a.revision} replaced ${a.previousPrimary.revision}; rollback window ${fmt(a.rollbackWindowRemainingSeconds)} s left, ` +
            `watch ${fmt(a.watchRemainingSeconds)} s left over ${a.watchedIntervals} intervals${a.watchAlert ? "; alert: " + a.watchAlert : ""}`]);
          const u = ro.lastUndo;
          if (u) rows.push(["last undo", `${u.undone} → ${u.restored} by ${u.method}: ${u.reason}${u.hookResult ? "; hook: " + u.hookResult : ""}`]);
          const o = ro.primaryOverride;
          if (o) rows.push(["primary override", `${o.revision} on ${o.endpoints.join(", ")} (replaces ${o.replaces.revision})`]);
          for (const e of events.filter((e) => /hook/i.test(e.line)).slice(-8)) rows.push([`${clock(e.t)} ${e.severity}`, e.line]);
          if (rows.length === 0) return "";
          return `<h3>Hooks and after promotion</h3><table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>`;
        }

        const INFLIGHT = ["Initializing", "Waiting", "Initialized", "Progressing", "WaitingPromotion", "Promoting"];

        /// Mirrors the rollout's own rules for where a verb applies; the server still decides (409 with its reason).
        function verbs(ro) {
          const p = ro.phase, stepping = ro.stepDown !== null, list = [];
          if (!ro.paused && !stepping && INFLIGHT.includes(p)) list.push(["pause", "pause", false]);
          if (ro.paused && p !== "Held") list.push(["resume", "resume", false]);
          if (!stepping && ["Progressing", "WaitingPromotion"].includes(p)) list.push(["promote", "promote", false]);
          if (!stepping && ["Progressing", "WaitingPromotion", "Held"].includes(p)) list.push(["promote --force", "promote?force=true", true]);
          if (["Initializing", "Waiting", "Initialized", "Held", "Progressing", "WaitingPromotion", "Promoted", "Promoting"].includes(p)) list.push(["abort", "abort", true]);
          if (["Failed", "Held"].includes(p)) list.push(["retry", "retry", false]);
          if (p === "Succeeded" && ro.afterPromotion && ro.afterPromotion.rollbackWindowRemainingSeconds > 0) list.push(["undo", "undo", true]);
          return list;
        }

        function headHTML(r) {
          const ro = r.rollout, phase = ro ? ro.phase : "unmanaged";
          let h = `<h2>${esc(r.name)}</h2><span class="phase ${esc(phase)}" data-field="phase">${esc(phase)}${ro && ro.paused ? " (paused)" : ""}</span>` +
            `<span>canary weight <span class="big" data-field="weight">${r.canaryWeight}</span>%</span>` +
            `<span class="muted">primary ${esc(r.primary.revision)}${r.canary ? " · canary " + esc(r.canary.revision) : ""}</span>`;
          if (ro) h += `<span class="muted">failed checks ${ro.failedChecks}${ro.iterations.of !== null ? ` · iterations ${ro.iterations.done}/${ro.iterations.of}` : ""}</span>`;
          if (role === "operator" && ro) {
            h += `<span class="verbs">${verbs(ro).map(([label, verb, danger]) =>
              `<button type="button" data-verb="${esc(verb)}" data-name="${esc(r.name)}"${danger ? ' class="danger"' : ""}>${esc(label)}</button>`).join("")}</span>`;
          }
          return h;
        }

        // MARK: rendering

        function part(section, key, html) {
          const id = section.dataset.route + "|" + key;
          let el = section.querySelector(`:scope > .part-${key}`);
          const fresh = !el;
          if (fresh) { el = document.createElement("div"); el.className = `part-${key}`; section.appendChild(el); }
          if (fresh || drawn.get(id) !== html) { el.innerHTML = html; drawn.set(id, html); }
        }

        function render() {
          const main = document.getElementById("routes");
          const wanted = state.status.routes.map((r) => r.name);
          for (const section of [...main.children]) {
            if (!wanted.includes(section.dataset.route)) section.remove();
            else if (!section.querySelector(":scope > .part-head")) section.replaceChildren();
          }
          const events = [...state.events.values()].sort((a, b) => a.seq - b.seq);
          for (const r of state.status.routes) {
            let section = [...main.children].find((s) => s.dataset.route === r.name);
            if (!section) {
              section = document.createElement("section");
              section.className = "card route";
              section.dataset.route = r.name;
              main.appendChild(section);
            }
            const mine = events.filter((e) => e.route === r.name);
            const ro = r.rollout;
            part(section, "head", headHTML(r));
            part(section, "message", ro ? `<p class="message">${esc(ro.message)}${ro.stepDown ? ` (stepping down: ${esc(ro.stepDown.reason)})` : ""}</p>` : "");
            part(section, "charts", chartsHTML(r, state.samples.get(r.name) || [], mine));
            part(section, "evidence", evidenceHTML(r));
            part(section, "hooks", hooksHTML(r, mine));
          }
          const rows = events.slice(-100).reverse().map((e) => `<tr><td>${clock(e.t)}</td><td class="sev ${esc(e.severity)}">${esc(e.severity)}</td>` +
            `<td>${esc(e.route ?? "")}</td><td>${esc(e.line)}</td></tr>`);
          const log = rows.length ? rows.join("") : `<tr><td class="muted">No events yet.</td></tr>`;
          if (drawn.get("events") !== log) { document.getElementById("events").innerHTML = log; drawn.set("events", log); }
          document.getElementById("updated").textContent = "updated " + clock(Date.now() / 1000);
        }

        function notice(text, bad) {
          const n = document.getElementById("notice");
          n.hidden = false;
          n.textContent = text;
          n.className = bad ? "bad" : "";
        }

        document.addEventListener("click", async (event) => {
          const button = event.target.closest("button[data-verb]");
          if (!button) return;
          const route = button.dataset.name, label = button.textContent;
          if (button.classList.contains("danger") && !window.confirm(`${label} ${route}?`)) return;
          button.disabled = true;
          try {
            const answer = await fetch(`/routes/${encodeURIComponent(route)}/${button.dataset.verb}`, {
              method: "POST", credentials: "same-origin", headers: { "X-Canarygate-Request": "1" } });
            notice(`${label} ${route}: ${answer.status} ${(await answer.text()).trim()}`, !answer.ok);
          } catch (error) {
            notice(`${label} ${route}: ${error}`, true);
          }
          button.disabled = false;
        });

        function connect() {
          const live = document.getElementById("live");
          const stream = new EventSource("/events");
          stream.addEventListener("snapshot", (m) => reset(JSON.parse(m.data)));
          stream.addEventListener("update", (m) => merge(JSON.parse(m.data)));
          stream.onopen = () => { live.textContent = "live"; live.className = "pill"; };
          stream.onerror = () => {
            live.className = "pill off";
            // Closed for good (a 401 or 403: the session ended); otherwise the browser reconnects by itself.
            live.textContent = stream.readyState === EventSource.CLOSED ? "stopped" : "reconnecting";
            if (stream.readyState === EventSource.CLOSED) notice("The live view stopped: reload the page (or log in again).", true);
          };
        }

        reset(initial);
        connect();
        })();
        """#
}
