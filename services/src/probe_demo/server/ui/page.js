// probe-demo's live page: polls ui/live once a second and draws what it says.
// Every text from the server goes in with textContent: user agents and headers are whatever a
// client sent, never markup.
"use strict";

const POLL_MS = 1000;
// The page may sit behind a path prefix (kubectl proxy): every URL is relative to it.
const BASE = location.pathname.replace(/ui\/?$/, "");
const $ = (id) => document.getElementById(id);

// The last snapshot, for rates and restart detection. It is kept in the tab's session
// storage too: `kubectl port-forward` stops when a poll meets a restarting container, and
// after the reader runs it again and reloads, the page still knows what it saw before.
const STORED = "probe-demo-last-snapshot";
const STORED_BANNER = "probe-demo-restart-banner";
const REMEMBER_SECONDS = 600;
let previous = null;
let lostSince = null;     // when the server stopped answering
let newestSeen = 0;       // time of the newest probe hit drawn, to highlight new ones

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function bytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  return h ? `${h}h ${m}m ${s}s` : m ? `${m}m ${s}s` : `${s}s`;
}

function cpus(n) {
  return `${n} CPU${n === 1 ? "" : "s"}`;
}

function clock(epoch) {
  const d = new Date(epoch * 1000);
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

function tile(name, value, why, tone) {
  return el("div", { className: `tile ${tone}` },
    el("div", { className: "name", textContent: name }),
    el("div", { className: "value", textContent: value }),
    why ? el("div", { className: "why", textContent: why }) : null);
}

function drawTiles(s) {
  const v = s.verdicts, st = s.state, tiles = [];
  tiles.push(tile("liveness", v.liveness.ok ? "alive" : "failing", v.liveness.reason,
                  v.liveness.ok ? "ok" : "bad"));
  tiles.push(tile("readiness", v.readiness.ok ? "ready" : "not ready", v.readiness.reason,
                  v.readiness.ok ? "ok" : "bad"));
  tiles.push(tile("startup", v.startup.ok ? "started" : "starting", v.startup.reason,
                  v.startup.ok ? "ok" : "warn"));
  tiles.push(tile("draining", st.draining ? "yes" : "no",
                  st.draining ? "SIGTERM received" : "no stop signal yet",
                  st.draining ? "warn" : "ok"));
  if (s.settings.healthy_checks !== null) {
    const n = s.settings.healthy_checks, count = st.healthchecks;
    tiles.push(tile("health checks", `${count} of ${n}`,
                    count > n ? "past N: /healthcheck answers 503" : "answered 200 so far",
                    count > n ? "bad" : "ok"));
  }
  if (s.settings.health_file !== null) {
    tiles.push(tile("health file", st.health_file_present ? "present" : "gone",
                    s.settings.health_file, st.health_file_present ? "ok" : "bad"));
  }
  for (const kind of ["liveness", "readiness", "startup"]) {
    const left = st[`fail_next_${kind}`];
    if (left > 0) tiles.push(tile(`${kind} to fail`, String(left), "/fault/fail-next", "warn"));
  }
  $("tiles").replaceChildren(...tiles);
}

function pair(term, value, bad = false) {
  const dd = el("dd", { textContent: value, className: bad ? "bad" : "" });
  dd.dataset.term = term;
  return [el("dt", { textContent: term }), dd];
}

// The bar of `name` (memory or cpu): the share of its limit in use (null: no limit), red
// when `high`.
function drawBar(name, share, high) {
  const what = name === "cpu" ? "CPU" : name;
  $(`${name}-fill`).style.width = share === null ? "0" : `${Math.min(100, share * 100)}%`;
  $(`${name}-fill`).classList.toggle("high", high);
  $(`${name}-bar`).setAttribute("aria-label", share === null ? `no ${what} limit`
    : `${Math.round(share * 100)}% of the ${what} limit`);
}

function drawResources(s, before) {
  const cg = s.cgroup, st = s.state;
  $("cgroup-version").textContent = cg.version ? `(cgroup v${cg.version})` : "(no cgroup found)";
  const mem = cg.memory || {}, cpu = cg.cpu || {};
  const limit = mem.limit_bytes, used = mem.usage_bytes;
  const share = limit && used !== null ? used / limit : null;
  drawBar("memory", share, share !== null && share > 0.85);
  $("memory").replaceChildren(
    ...pair("usage", `${bytes(used)}${share === null ? "" : ` (${Math.round(share * 100)}% of limit)`}`,
            share !== null && share > 0.85),
    ...pair("limit", limit ? bytes(limit) : "none"),
    ...pair("working set", bytes(mem.working_set_bytes)),
    ...pair("peak", bytes(mem.peak_bytes)),
    ...pair("held on purpose", bytes(st.memory_target)),
    ...pair("OOM kills", mem.oom_kills ?? "—", mem.oom_kills > 0));

  let cores = null, throttledShare = null;
  const prevCpu = before && before.cgroup && before.cgroup.cpu;
  if (prevCpu && cpu.usage_seconds !== null && prevCpu.usage_seconds !== null) {
    const dt = s.now - before.now;
    if (dt > 0) cores = (cpu.usage_seconds - prevCpu.usage_seconds) / dt;
    const periods = cpu.periods - prevCpu.periods;
    if (periods > 0) throttledShare = (cpu.throttled_periods - prevCpu.throttled_periods) / periods;
  }
  const cpuLimit = cpu.limit_cpus;
  const cpuShare = cpuLimit && cores !== null ? cores / cpuLimit : null;
  drawBar("cpu", cpuShare, throttledShare !== null && throttledShare > 0.2);
  $("cpu").replaceChildren(
    ...pair("using", cores === null ? "—" : `${cores.toFixed(2)} CPUs`),
    ...pair("limit", cpuLimit ? cpus(cpuLimit) : "none"),
    ...pair("burning on purpose", cpus(st.cpu_target)),
    ...pair("throttled now", throttledShare === null ? "—"
            : `${Math.round(throttledShare * 100)}% of periods`, throttledShare > 0.2),
    ...pair("throttled periods", cpu.throttled_periods === null ? "—"
            : `${cpu.throttled_periods} of ${cpu.periods}`),
    ...pair("throttled time", cpu.throttled_seconds === null ? "—"
            : `${cpu.throttled_seconds.toFixed(1)} s`));
}

function headerText(headers) {
  return Object.entries(headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n");
}

function drawHits(s) {
  const hits = s.probes.recent;
  $("probe-total").textContent = `(${s.probes.total} since start; newest first)`;
  $("no-hits").hidden = hits.length > 0;
  const rows = hits.map((hit) => {
    const ok = typeof hit.status === "number" ? hit.status < 400 : hit.status === "SERVING";
    const probe = hit.service !== undefined ? `gRPC ${hit.service || "(server)"}` : hit.path;
    const sent = headerText(hit.headers), answered = headerText(hit.answer_headers);
    const headers = [sent && `sent ${sent}`, answered && `answered ${answered}`]
      .filter(Boolean).join("\n");
    const row = el("tr", { className: hit.time > newestSeen && previous ? "fresh" : "" },
      el("td", { className: "time", textContent: clock(hit.time) }),
      el("td", { textContent: probe }),
      el("td", { className: "protocol", textContent: hit.protocol }),
      el("td", { className: `status ${ok ? "ok" : "bad"}`, textContent: String(hit.status) }),
      el("td", {},
        hit.kubelet ? el("span", { className: "badge", textContent: "kubelet" }) : null,
        el("span", { className: "agent", textContent: hit.user_agent || "(no user agent)" })),
      el("td", { className: "headers", textContent: headers }));
    row.dataset.path = hit.path;
    return row;
  });
  if (hits.length) newestSeen = Math.max(newestSeen, hits[0].time);
  $("hits").replaceChildren(...rows);
}

function drawRequests(s) {
  const rows = [...s.requests].sort((a, b) => b.count - a.count).map((r) =>
    el("tr", {},
      el("td", { textContent: `${r.method} ${r.endpoint}` }),
      el("td", { className: `status ${Number(r.code) < 400 ? "ok" : "bad"}`, textContent: r.code }),
      el("td", { className: "count", textContent: String(r.count) })));
  $("requests").replaceChildren(...rows);
}

function drawHeader(s) {
  $("pod").textContent = s.pod.name;
  $("variant").textContent = `variant ${s.pod.variant}`;
  $("version").textContent = `version ${s.pod.version}`;
  $("uptime").textContent = `up ${duration(s.pod.uptime_s)}`;
  $("does").textContent = s.pod.does;
  document.title = `${s.pod.name} · probe-demo`;
}

function noteRestart(s, before) {
  if (!before || before.pod.started_at === s.pod.started_at) return;
  const mem = before.cgroup.memory || {};
  let why = "";
  if (mem.limit_bytes && mem.usage_bytes / mem.limit_bytes > 0.85) {
    why = ` It last used ${Math.round(100 * mem.usage_bytes / mem.limit_bytes)}% of its memory `
      + "limit: an OOM kill (exit 137) is likely.";
  } else if (!before.verdicts.liveness.ok) {
    why = " Its liveness was failing: the kubelet restarted it.";
  }
  const same = before.pod.name === s.pod.name;
  showBanner(`${same ? "The server restarted" : `Now talking to ${s.pod.name}`} at `
    + `${clock(s.pod.started_at)} (it had been up ${duration(before.pod.uptime_s)}).${why} `
    + "kubectl describe pod shows the last state.");
}

function showBanner(text, remember = true) {
  $("banner").textContent = text;
  $("banner").hidden = false;
  if (remember) {
    try {
      sessionStorage.setItem(STORED_BANNER, JSON.stringify({ text, at: Date.now() / 1000 }));
    } catch (err) {
      // as for the snapshot: only a reload forgets it
    }
  }
}

function showRememberedBanner() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORED_BANNER));
    if (stored && Date.now() / 1000 - stored.at < REMEMBER_SECONDS) showBanner(stored.text, false);
  } catch (err) {
    // nothing remembered
  }
}

function drawSwitches(s) {
  $("switches").hidden = !s.settings.faults_enabled;
  $("switches-off").hidden = s.settings.faults_enabled;
}

function remembered(now) {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORED));
    return stored && now - stored.now < REMEMBER_SECONDS ? stored : null;
  } catch (err) {
    return null;
  }
}

function draw(s) {
  const before = previous || remembered(s.now);
  noteRestart(s, before);
  drawHeader(s);
  drawTiles(s);
  drawSwitches(s);
  drawResources(s, before && before.pod.started_at === s.pod.started_at ? before : null);
  drawHits(s);
  drawRequests(s);
  previous = s;
  try {
    sessionStorage.setItem(STORED, JSON.stringify(s));
  } catch (err) {
    // storage full or refused: the page still works, only forgets across reloads
  }
}

function setContact(ok) {
  const contact = $("contact");
  if (ok) {
    lostSince = null;
    contact.textContent = "live";
    contact.className = "contact live";
  } else {
    lostSince = lostSince || Date.now() / 1000;
    contact.textContent = `no answer since ${clock(lostSince)}`;
    contact.className = "contact lost";
  }
}

async function poll() {
  try {
    const response = await fetch(`${BASE}ui/live`, { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    draw(await response.json());
    setContact(true);
  } catch (err) {
    setContact(false);
  }
  setTimeout(poll, POLL_MS);
}

async function flip(path) {
  const answer = $("answer");
  try {
    const response = await fetch(BASE + path.replace(/^\//, ""), { method: "POST" });
    const text = (await response.text()).trim();
    answer.textContent = `POST ${path} → ${response.status} ${text}`;
    answer.className = response.ok ? "answer" : "answer bad";
  } catch (err) {
    answer.textContent = `POST ${path} → no answer (${err.message})`;
    answer.className = "answer bad";
  }
}

function wire() {
  for (const button of document.querySelectorAll("[data-switch]")) {
    button.addEventListener("click", () => flip(button.dataset.switch));
  }
  const q = encodeURIComponent;
  $("fail-next").addEventListener("click", () => flip(
    `/fault/fail-next?probe=${q($("fail-next-probe").value)}&count=${q($("fail-next-count").value)}`));
  $("hold-memory").addEventListener("click", () => flip(`/fault/memory?size=${q($("memory-size").value)}`));
  $("burn-cpus").addEventListener("click", () => flip(`/fault/cpu?cpus=${q($("cpu-count").value)}`));
  $("crash").addEventListener("click", () => flip(`/fault/exit?code=${q($("exit-code").value)}`));
}

wire();
showRememberedBanner();
poll();
