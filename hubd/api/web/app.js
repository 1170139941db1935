// The hub's web console: one more client of the public LAN API (no private routes).
// The token lives in localStorage and goes in the Authorization header (and the WebSocket's
// first message), never in a URL. Every piece of text from the hub is set with textContent.

const $ = (id) => document.getElementById(id);
const api = "/api/v1";
let token = localStorage.getItem("hubd.token") || "";
const devices = new Map();
let ws = null;
let nextId = 1;
const pending = new Map();

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function call(method, path, body, type = "application/json") {
  const headers = { Authorization: `Bearer ${token}` };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = type;
    init.body = type === "application/json" ? JSON.stringify(body) : body;
  }
  const resp = await fetch(api + path, init);
  const answer = resp.status === 204 ? null : await resp.json();
  if (!resp.ok) {
    if (resp.status === 401) showPair("the hub no longer knows this browser: pair again");
    const error = new Error(answer.detail || resp.statusText);
    error.problem = answer;
    throw error;
  }
  return answer;
}

// -- pairing --------------------------------------------------------------------------------

function showPair(message = "") {
  token = "";
  localStorage.removeItem("hubd.token");
  $("tabs").hidden = true;
  for (const tab of document.querySelectorAll(".tab")) tab.hidden = true;
  $("pair").hidden = false;
  $("pair-status").textContent = message;
}

$("pair-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = $("pair-code").value.trim();
  const body = { client: $("pair-client").value.trim() || "browser", scope: "admin" };
  if (code) body.code = code;
  $("pair-status").textContent = "pairing…";
  const resp = await fetch(`${api}/pair`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const answer = await resp.json();
  if (!resp.ok) {
    $("pair-status").textContent = answer.detail;
    return;
  }
  token = answer.token;
  localStorage.setItem("hubd.token", token);
  start();
});

$("unpair").addEventListener("click", () => showPair("forgotten: pair again to use this hub"));

// -- tabs -----------------------------------------------------------------------------------

for (const button of document.querySelectorAll("#tabs button[data-tab]")) {
  button.addEventListener("click", () => showTab(button.dataset.tab));
}

function showTab(name) {
  for (const button of document.querySelectorAll("#tabs button[data-tab]")) {
    button.classList.toggle("active", button.dataset.tab === name);
  }
  for (const tab of document.querySelectorAll(".tab")) tab.hidden = tab.id !== name;
  if (name === "rules") loadRules();
  if (name === "health") loadHealth();
  if (name === "join") loadRadios();
  if (name === "update") loadUpdate();
}

// -- devices --------------------------------------------------------------------------------

function describe(state) {
  return Object.entries(state).map(([name, value]) => {
    const short = name.split(".")[1];
    const shown = value === true ? "on" : value === false ? "off" : value === null ? "?" : value;
    return `${short} ${shown}`;
  }).join(" · ");
}

async function command(device, name, args, result) {
  result.className = "result";
  result.textContent = `${name}…`;
  try {
    const answer = await call("POST", `/devices/${encodeURIComponent(device.id)}/commands`,
                              { command: name, args });
    result.classList.toggle("failed", answer.status === "failed" || answer.status === "expired");
    result.textContent = `${answer.command} ${answer.status} in ` +
      `${(answer.latency_s * 1000).toFixed(1)} ms${answer.error ? ": " + answer.error : ""}`;
  } catch (error) {
    result.className = "result failed";
    result.textContent = error.message;
  }
}

function controls(device, result) {
  const box = el("div", { class: "controls" });
  const caps = new Set(device.capabilities);
  const state = device.state || {};
  const send = (name, args = {}) => command(device, name, args, result);
  if (caps.has("switch")) {
    box.append(el("button", { class: "toggle", onclick: () => send("switch.toggle") },
                  state["switch.on"] ? "Turn off" : "Turn on"));
  }
  if (caps.has("level")) {
    const slider = el("input", { type: "range", min: "0", max: "100", "aria-label": "level" });
    slider.value = state["level.level_pct"] ?? 0;
    slider.addEventListener("change", () => send("level.set", { level_pct: Number(slider.value) }));
    box.append(slider);
  }
  if (caps.has("color")) {
    const kelvin = el("input", { type: "number", min: "1000", max: "10000", step: "100",
                                 "aria-label": "colour temperature (K)" });
    kelvin.value = state["color.color_temp_k"] ?? 2700;
    kelvin.addEventListener("change",
      () => send("color.set_color_temp", { color_temp_k: Number(kelvin.value) }));
    box.append(kelvin, "K");
  }
  if (caps.has("lock")) {
    box.append(el("button", { onclick: () => send("lock.lock") }, "Lock"),
               el("button", { onclick: () => send("lock.unlock") }, "Unlock"));
  }
  if (caps.has("shade")) {
    const position = el("input", { type: "range", min: "0", max: "100", "aria-label": "position" });
    position.value = state["shade.position_pct"] ?? 0;
    position.addEventListener("change",
      () => send("shade.set_position", { position_pct: Number(position.value) }));
    box.append(position);
  }
  if (caps.has("thermostat")) {
    const setpoint = el("input", { type: "number", min: "0", max: "50", step: "0.5",
                                   "aria-label": "heat setpoint (°C)" });
    setpoint.value = state["thermostat.heat_setpoint_c"] ?? 20;
    setpoint.addEventListener("change",
      () => send("thermostat.set_heat_setpoint", { celsius: Number(setpoint.value) }));
    box.append(setpoint, "°C");
  }
  return box;
}

function card(device) {
  const result = el("div", { class: "result" });
  const node = el("div", { class: "card", "data-device": device.id },
                  el("h3", {}, device.name || device.id),
                  el("div", { class: "state" }, describe(device.state || {})),
                  controls(device, result), result);
  node.classList.toggle("unavailable", !device.is_available);
  return node;
}

function renderDevices() {
  const rooms = new Map();
  for (const device of [...devices.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const room = device.room || "No room";
    if (!rooms.has(room)) rooms.set(room, []);
    rooms.get(room).push(device);
  }
  const section = $("devices");
  section.replaceChildren();
  for (const room of [...rooms.keys()].sort()) {
    section.append(el("div", { class: "room" }, el("h2", {}, room),
                      el("div", { class: "cards" }, ...rooms.get(room).map(card))));
  }
}

function refreshCard(device) {
  const old = document.querySelector(`.card[data-device="${CSS.escape(device.id)}"]`);
  if (!old) return renderDevices();
  const fresh = card(device);
  fresh.querySelector(".result").replaceWith(old.querySelector(".result"));
  old.replaceWith(fresh);
}

// -- live events ----------------------------------------------------------------------------

function connect(sinceSeq) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(`${scheme}//${location.host}${api}/ws`);
  let lastSeq = sinceSeq;
  ws.onopen = () => {
    ws.send(JSON.stringify({ id: nextId++, type: "auth", token }));
    ws.send(JSON.stringify({ id: nextId++, type: "subscribe", since_seq: lastSeq ?? null }));
    $("connection").textContent = "live";
  };
  ws.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.type === "event") {
      lastSeq = data.seq;
      onEvent(data.seq, data.event);
    } else if (data.type === "resync") {
      lastSeq = data.seq;
      loadDevices();
    }
  };
  ws.onclose = (close) => {
    $("connection").textContent = `disconnected (${close.reason || close.code}); reconnecting…`;
    if (close.code === 4001) return showPair("the hub refused this browser's token");
    setTimeout(() => token && connect(lastSeq), 1000);
  };
}

function onEvent(seq, event) {
  logEvent(seq, event);
  if (event.event === "state_changed") {
    const device = devices.get(event.device_id);
    if (device) {
      device.state = { ...(device.state || {}), [event.attribute]: event.new };
      refreshCard(device);
    }
  } else if (event.event === "device_joined") {
    const known = devices.get(event.device.id);
    devices.set(event.device.id, { ...event.device, state: known ? known.state : {} });
    renderDevices();
    $("join-list").append(el("li", {}, `${event.device.name || event.device.id} joined`));
  } else if (event.event === "device_left") {
    devices.delete(event.device_id);
    renderDevices();
  } else if (event.event === "update_progress") {
    showUpdate(event);
  } else if (event.event === "availability_changed") {
    const device = devices.get(event.device_id);
    if (device) {
      device.is_available = event.is_available;
      refreshCard(device);
    }
  }
}

function eventText(event) {
  switch (event.event) {
    case "state_changed": return `${event.device_id} ${event.attribute} ${event.old} → ${event.new}`;
    case "command_result":
      return `${event.device_id} ${event.command} ${event.status} in ${(event.latency_s * 1000).toFixed(1)} ms`;
    case "button": return `${event.device_id} button ${event.button} ${event.action}`;
    case "rule_ran": return `rule ${event.rule_id} ${event.outcome} after ${event.trigger}`;
    case "notice": return `${event.source}: ${event.message}`;
    case "device_joined": return `+ ${event.device.id}`;
    case "update_progress": return `update ${event.version} ${event.phase} ${event.reason}`;
    default: return `${event.device_id || ""}`;
  }
}

function logEvent(seq, event) {
  const device = $("filter-device").value.trim();
  const origin = $("filter-origin").value.trim();
  const id = event.device_id || (event.device && event.device.id) || "";
  const from = (event.context && event.context.origin) || "";
  if ((device && !id.includes(device)) || (origin && !from.includes(origin))) return;
  const log = $("event-log");
  log.prepend(el("li", {}, `${seq}  ${event.event}  ${eventText(event)}  (${from})`));
  while (log.children.length > 300) log.lastChild.remove();
}

// -- add devices ----------------------------------------------------------------------------

async function loadRadios() {
  const health = await call("GET", "/health");
  $("join-radio").replaceChildren(...health.radios.map((r) => el("option", {}, r.radio)));
}

$("join-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const radio = $("join-radio").value;
  let seconds = Number($("join-seconds").value);
  $("join-list").replaceChildren();
  try {
    await call("POST", `/radios/${encodeURIComponent(radio)}/join`, { duration_s: seconds });
  } catch (error) {
    $("join-status").textContent = error.message;
    return;
  }
  const tick = () => {
    $("join-status").textContent = seconds > 0 ? `${radio} open for ${seconds} s` : `${radio} closed`;
    if (seconds-- > 0) setTimeout(tick, 1000);
  };
  tick();
});

// -- rules ----------------------------------------------------------------------------------

let editing = null;

async function loadRules() {
  const { rules } = await call("GET", "/rules");
  const rows = rules.map((rule) => el("tr", { "data-rule": rule.id },
    el("td", {}, el("a", { href: "#", onclick: (e) => { e.preventDefault(); openRule(rule.id); } },
                    rule.name)),
    el("td", {}, rule.is_enabled ? "enabled" : `off: ${rule.reason}`),
    el("td", {}, String(rule.runs_started)),
    el("td", {}, el("button", { onclick: async () => {
      await call("POST", `/rules/${encodeURIComponent(rule.id)}/${rule.is_enabled ? "disable" : "enable"}`);
      loadRules();
    } }, rule.is_enabled ? "Disable" : "Enable"))));
  $("rules-table").tBodies[0].replaceChildren(...rows);
}

function numberLines(bad = new Set()) {
  const count = $("editor-text").value.split("\n").length;
  const items = [];
  for (let n = 1; n <= count; n++) items.push(el("li", { class: bad.has(n) ? "bad" : "" }, String(n)));
  $("editor-lines").replaceChildren(...items);
}

$("editor-text").addEventListener("input", () => numberLines());

async function openRule(id) {
  editing = id;
  const rule = await call("GET", `/rules/${encodeURIComponent(id)}`);
  $("editor-title").textContent = `Rule ${rule.name} (${rule.origin})`;
  $("editor-text").value = rule.text || `# from a rules file: edit it there\nid: ${id}\n`;
  numberLines();
  $("rule-errors").replaceChildren();
  const { traces } = await call("GET", `/rules/${encodeURIComponent(id)}/traces`);
  $("traces").replaceChildren(...traces.slice(-5).reverse().map(drawTrace));
}

function showErrors(error) {
  const problems = (error.problem && error.problem.errors) || [];
  const bad = new Set(problems.map((p) => p.line));
  numberLines(bad);
  $("rule-errors").replaceChildren(...(problems.length ? problems : [{ line: "", field: "",
    message: error.message }]).map((p) => el("li", {}, `line ${p.line}: ${p.field} ${p.message}`)));
}

$("rule-save").addEventListener("click", async () => {
  const text = $("editor-text").value;
  const id = (text.match(/^id:\s*(\S+)/m) || [])[1] || editing;
  try {
    await call("PUT", `/rules/${encodeURIComponent(id)}`, text, "application/yaml");
    $("rule-errors").replaceChildren(el("li", { class: "ok" }, "saved"));
    numberLines();
    loadRules();
  } catch (error) {
    showErrors(error);
  }
});

$("rule-dry-run").addEventListener("click", async () => {
  if (!editing) return;
  try {
    const trace = await call("POST", `/rules/${encodeURIComponent(editing)}/dry-run`, {});
    $("traces").prepend(drawTrace(trace));
  } catch (error) {
    showErrors(error);
  }
});

function drawTrace(trace) {
  const start = trace.start_ts;
  const total = Math.max((trace.end_ts || start) - start, 0.001);
  const rows = [el("div", { class: "row" }, el("strong", {}, `trigger ${trace.trigger.text}`),
                   el("span", {}, ""), el("span", {}, trace.outcome))];
  for (const [depth, text, isTrue] of trace.conditions) {
    rows.push(el("div", { class: "row" }, el("span", {}, `${"  ".repeat(depth)}${isTrue ? "✓" : "✗"} ${text}`),
                 el("span", {}), el("span", {})));
  }
  for (const step of trace.steps) {
    const took = (step.end_ts || step.start_ts) - step.start_ts;
    const bar = el("div", { class: "bar" });
    bar.style.marginLeft = `${((step.start_ts - start) / total) * 100}%`;
    bar.style.width = `${Math.max((took / total) * 100, 0.5)}%`;
    rows.push(el("div", { class: "row" }, el("span", {}, `${step.text}: ${step.status || "running"}`),
                 bar, el("span", {}, `${(took * 1000).toFixed(1)} ms`)));
  }
  return el("div", { class: "trace" }, ...rows);
}

// -- health ---------------------------------------------------------------------------------

async function loadHealth() {
  const health = await call("GET", "/health");
  const rows = health.radios.map((r) => el("tr", {}, el("td", {}, r.radio), el("td", {}, r.status),
                                           el("td", {}, r.detail || "")));
  const facts = [`hub is ${health.status}`,
                 `tunnel: ${health.tunnel ? health.tunnel.status : "not configured"}`,
                 `versions: ${Object.entries(health.versions).map(([k, v]) => `${k} ${v}`).join(", ")}`];
  if (health.process) {
    facts.push(`up ${Math.round(health.process.uptime_s)} s, memory ${health.process.rss_mib} MiB`);
  }
  $("health").replaceChildren(el("h2", {}, "Health"), ...facts.map((f) => el("p", {}, f)),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Radio"), el("th", {}, "Status"),
                                       el("th", {}, "Detail"))), el("tbody", {}, ...rows)));
}

// -- update ---------------------------------------------------------------------------------

function showUpdate(status) {
  const phase = status.phase;
  let text = phase === "idle" ? "no update since the hub started"
    : `update ${status.version || ""}: ${phase}`;
  if (status.reason) text += ` (${status.reason})`;
  $("update-phase").textContent = text;
  $("update-phase").classList.toggle("failed", phase === "failed");
  const bar = $("update-progress");
  bar.hidden = !status.total_bytes || phase === "idle";
  bar.max = status.total_bytes || 1;
  bar.value = status.done_bytes || 0;
  $("update-reboot").hidden = phase !== "committed";
}

async function loadUpdate() {
  try {
    const status = await call("GET", "/update");
    $("update-running").textContent =
      `running ${status.running_version} from slot ${status.booted_slot}`;
    showUpdate(status);
  } catch (error) {
    $("update-running").textContent = error.message;
  }
}

$("update-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("update-file").files[0];
  if (!file) return;
  $("update-phase").textContent = `uploading ${file.name}…`;
  try {
    // The File goes as the body: the browser streams it; progress arrives over the WebSocket.
    showUpdate(await call("POST", "/update/bundle", file, "application/octet-stream"));
  } catch (error) {
    $("update-phase").textContent = `refused: ${error.message}`;
    $("update-phase").classList.add("failed");
  }
});

$("update-reboot").addEventListener("click", async () => {
  try {
    showUpdate(await call("POST", "/update/reboot"));
  } catch (error) {
    $("update-phase").textContent = error.message;
  }
});

// -- start ----------------------------------------------------------------------------------

async function loadDevices() {
  const answer = await call("GET", "/devices");
  devices.clear();
  for (const device of answer.devices) devices.set(device.id, device);
  renderDevices();
}

async function start() {
  const info = fetch(`${api}/info`).then((resp) => resp.json());
  if (!token) {
    showPair();
  } else {
    $("pair").hidden = true;
    $("tabs").hidden = false;
    showTab("devices");
    // Subscribe first, then fetch the state: nothing that happens between is missed, and the
    // WebSocket's handshake overlaps the devices' download.
    connect(null);
    try {
      await loadDevices();
    } catch (error) {
      $("connection").textContent = error.message;
    }
  }
  const hub = await info;
  $("hub-name").textContent = `${hub.name} (${hub.id})`;
}

start();
