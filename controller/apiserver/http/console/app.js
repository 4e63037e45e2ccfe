// atoll web console: plain JS, no build step. Every string shown comes from the server and is
// untrusted: the DOM is built with textContent only (el() below), never innerHTML.
// The token lives in sessionStorage and travels as an Authorization header (no cookie: nothing
// for a cross-site request to ride on; never in a URL). A user may log in with the client
// certificate the browser presents in the TLS handshake instead: then requests carry no token, and
// a write another site's page makes the browser send is refused by the server (same_origin.py).
"use strict";

const API = "/apis/atoll.dev/v1";
const TOKEN_KEY = "atoll.token";
const PAGE_SIZE = 500;
const ROW_HEIGHT = 28;

const CERTIFICATE_KEY = "atoll.certificate"; // "1" while logged in by client certificate
const session = { token: sessionStorage.getItem(TOKEN_KEY) || "", certificate: sessionStorage.getItem(CERTIFICATE_KEY) === "1", user: "" };
let page = null; // the current page: { stop() }

// ---------------------------------------------------------------------------------------------
// DOM

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function main() { return document.getElementById("main"); }

function show(...children) {
  const root = main();
  root.replaceChildren(...children);
}

function setConnection(text) { document.getElementById("connection").textContent = text; }

// ---------------------------------------------------------------------------------------------
// API

class ApiError extends Error {
  constructor(status) {
    super(status.message || `HTTP ${status.code}`);
    this.code = status.code;
    this.reason = status.reason;
  }
}

function headers(extra) {
  const result = Object.assign({}, extra || {});
  if (session.token) result.Authorization = `Bearer ${session.token}`;
  return result;
}

async function failure(response) {
  try {
    return new ApiError(await response.json());
  } catch (_) {
    return new ApiError({ code: response.status, message: `HTTP ${response.status}` });
  }
}

async function api(path, options) {
  const init = Object.assign({}, options || {});
  init.headers = headers(init.headers);
  const response = await fetch(path, init);
  if (response.status === 401) {
    logout(session.certificate ? "The server accepts no client certificate from this browser; log in again."
      : "Your token is no longer accepted; log in again.");
    throw await failure(response);
  }
  if (!response.ok) throw await failure(response);
  return response.json();
}

function collectionPath(plural, namespace) {
  return namespace ? `${API}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${API}/${plural}`;
}

function objectPath(plural, namespace, name) {
  return `${collectionPath(plural, namespace)}/${encodeURIComponent(name)}`;
}

const decisions = new Map();

// May the user do this? The server's authorizer answers (SelfSubjectAccessReview).
async function can(verb, resource, namespace, name) {
  const key = [verb, resource, namespace || "", name || ""].join("\u0000");
  if (!decisions.has(key)) {
    const body = { spec: { resourceAttributes: { verb, resource, namespace: namespace || "", name: name || "" } } };
    decisions.set(key, api(`${API}/selfsubjectaccessreviews`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    }).then((review) => review.status.allowed === true).catch(() => false));
  }
  return decisions.get(key);
}

// ---------------------------------------------------------------------------------------------
// Live collections: list every page, then watch from the list's revision; on a lost connection
// watch again from the last revision seen; on 410 Expired list again.

function keyOf(object) { return `${object.metadata.namespace || ""}/${object.metadata.name}`; }

class LiveList {
  constructor(plural, { namespace = "", fieldSelector = "", labelSelector = "" } = {}, onChange) {
    this.plural = plural;
    this.base = collectionPath(plural, namespace);
    this.params = { fieldSelector, labelSelector };
    this.onChange = onChange;
    this.items = new Map();
    this.revision = 0;
    this.stopped = false;
    this.controller = null;
    this.ready = false;
    this.run();
  }

  query(extra) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(Object.assign({}, this.params, extra))) if (value) params.set(key, value);
    return `${this.base}?${params}`;
  }

  async relist() {
    const items = new Map();
    let token = "";
    let revision = 0;
    do {
      const page = await api(this.query({ limit: String(PAGE_SIZE), continue: token }));
      for (const item of page.items) items.set(keyOf(item), item);
      token = page.metadata.continue || "";
      revision = revision || page.metadata.resourceVersion;
    } while (token);
    this.items = items;
    this.revision = revision;
    this.ready = true;
    this.onChange(this);
  }

  async run() {
    let delay = 250;
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) { await this.relist(); needList = false; }
        setConnection("live");
        needList = await this.watch();
        delay = 250;
      } catch (error) {
        if (this.stopped) return;
        if (error instanceof ApiError && error.code === 410) { needList = true; continue; }
        if (error instanceof ApiError && error.code >= 400 && error.code < 500 && error.code !== 429) {
          setConnection(error.message);
          return;
        }
        setConnection(`reconnecting (${error.message || error})`);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  // Streams events until the stream ends; true when the revision is gone (relist).
  async watch() {
    this.controller = new AbortController();
    const response = await fetch(this.query({ watch: "true", resourceVersion: String(this.revision), allowWatchBookmarks: "true" }),
      { headers: headers(), signal: this.controller.signal });
    if (!response.ok) throw await failure(response);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += decoder.decode(value, { stream: true });
      let newline;
      let changed = false;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.trim()) continue;
        const event = JSON.parse(line);
        if (event.type === "ERROR") {
          if (event.object.code === 410) return true;
          throw new ApiError(event.object);
        }
        const object = event.object;
        if (object.metadata && object.metadata.resourceVersion) this.revision = Math.max(this.revision, object.metadata.resourceVersion);
        if (event.type === "BOOKMARK") continue;
        if (event.type === "DELETED") this.items.delete(keyOf(object));
        else this.items.set(keyOf(object), object);
        changed = true;
      }
      if (changed) this.onChange(this);
    }
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }
}

// Coalesces redraws to one per animation frame, however many events arrive.
function redrawer(draw) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  };
}

// ---------------------------------------------------------------------------------------------
// Quantities and workload facts

const SUFFIXES = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };

function quantity(text) {
  if (text === undefined || text === null || text === "") return 0;
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(String(text));
  if (!match || !(match[2] in SUFFIXES)) return 0;
  return parseFloat(match[1]) * SUFFIXES[match[2]];
}

function bytes(value) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let index = 0;
  while (value >= 1024 && index < units.length - 1) { value /= 1024; index += 1; }
  return `${value.toFixed(index ? 1 : 0)} ${units[index]}`;
}

function cores(value) { return Number.isInteger(value) ? String(value) : value.toFixed(2); }

function requestsOf(workload) {
  if (workload.kind === "VirtualMachine") {
    return { cpu: workload.spec.vcpus || 0, memory: quantity(workload.spec.memory) };
  }
  let cpu = 0;
  let memory = 0;
  for (const container of workload.spec.containers || []) {
    const requests = (container.resources && container.resources.requests) || {};
    cpu += quantity(requests.cpu);
    memory += quantity(requests.memory);
  }
  return { cpu, memory };
}

function phaseOf(workload) { return (workload.status && workload.status.phase) || "Pending"; }
function nodeOf(workload) { return (workload.spec && workload.spec.nodeName) || ""; }
function pluralOf(kind) { return kind === "VirtualMachine" ? "virtualmachines" : kind === "Pod" ? "pods" : `${kind.toLowerCase()}s`; }

function age(timestamp) {
  if (!timestamp) return "";
  const seconds = Math.max(0, (Date.now() - Date.parse(timestamp)) / 1000);
  if (seconds < 120) return `${Math.floor(seconds)}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

function conditionOf(object, type) {
  for (const condition of (object.status && object.status.conditions) || []) if (condition.type === type) return condition;
  return null;
}

function bar(used, total) {
  const share = total > 0 ? Math.min(1, used / total) : 0;
  const inner = el("span");
  inner.style.width = `${Math.round(share * 100)}%`;
  return el("span", { class: "bar", role: "img", "aria-label": `${Math.round(share * 100)} percent` }, inner);
}

// ---------------------------------------------------------------------------------------------
// A table that renders only the rows in view (10,000 workloads scroll without 10,000 DOM rows);
// arrow keys move the selection, Enter opens it.

class VirtualTable {
  constructor(columns, onOpen, label) {
    this.columns = columns;
    this.onOpen = onOpen;
    this.rows = [];
    this.selected = 0;
    this.template = columns.map((column) => column.width || "1fr").join(" ");
    this.node = el("div", { class: "vtable", tabindex: "0", role: "grid", "aria-label": label,
      onscroll: () => this.draw(), onkeydown: (event) => this.key(event) });
    this.spacer = el("div");
    this.node.append(this.spacer);
  }

  setRows(rows) {
    this.rows = rows;
    this.selected = Math.min(this.selected, Math.max(0, rows.length - 1));
    this.draw();
  }

  key(event) {
    if (event.key === "ArrowDown") this.selected = Math.min(this.rows.length - 1, this.selected + 1);
    else if (event.key === "ArrowUp") this.selected = Math.max(0, this.selected - 1);
    else if (event.key === "Enter" && this.rows[this.selected]) { this.onOpen(this.rows[this.selected]); return; }
    else return;
    event.preventDefault();
    const top = (this.selected + 1) * ROW_HEIGHT;
    if (top < this.node.scrollTop + ROW_HEIGHT) this.node.scrollTop = top - ROW_HEIGHT;
    if (top + ROW_HEIGHT > this.node.scrollTop + this.node.clientHeight) this.node.scrollTop = top + ROW_HEIGHT - this.node.clientHeight;
    this.draw();
  }

  row(cells, top, extra) {
    const node = el("div", Object.assign({ class: "vrow", role: "row" }, extra || {}), cells.map((cell) => el("span", { role: "gridcell" }, cell)));
    node.style.top = `${top}px`;
    node.style.gridTemplateColumns = this.template;
    return node;
  }

  draw() {
    const height = this.node.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.node.scrollTop / ROW_HEIGHT) - 5);
    const last = Math.min(this.rows.length, first + Math.ceil(height / ROW_HEIGHT) + 10);
    this.spacer.style.height = `${(this.rows.length + 1) * ROW_HEIGHT}px`;
    const head = this.row(this.columns.map((column) => column.title), 0, { class: "vrow head" });
    head.style.top = "0px";
    const visible = [head];
    for (let index = first; index < last; index += 1) {
      const item = this.rows[index];
      const node = this.row(this.columns.map((column) => column.value(item)), (index + 1) * ROW_HEIGHT,
        { "data-key": `${item.kind}/${keyOf(item)}`, onclick: () => this.onOpen(item) });
      if (index === this.selected) node.classList.add("selected");
      visible.push(node);
    }
    this.node.replaceChildren(this.spacer, ...visible);
  }
}

// ---------------------------------------------------------------------------------------------
// Pages

function overviewPage() {
  const root = el("section", {}, el("h1", {}, "Overview"), el("p", {}, "Loading…"));
  show(root);
  const draw = redrawer(() => {
    const nodes = [...lists.nodes.items.values()];
    const workloads = [...lists.pods.items.values(), ...lists.vms.items.values()];
    const byOs = countBy(nodes, (node) => {
      const info = (node.status && node.status.nodeInfo) || {};
      return info.os === "windows" && info.osBuild ? `windows ${info.osBuild}` : info.os || "unknown";
    });
    const byHypervisor = countBy(nodes, (node) => (node.status && node.status.hypervisor && node.status.hypervisor.type) || "none");
    const byPhase = countBy(workloads, phaseOf);
    let capacityCpu = 0, capacityMemory = 0, allocatableCpu = 0, allocatableMemory = 0, usedCpu = 0, usedMemory = 0;
    for (const node of nodes) {
      const status = node.status || {};
      capacityCpu += quantity((status.capacity || {}).cpu);
      capacityMemory += quantity((status.capacity || {}).memory);
      allocatableCpu += quantity((status.allocatable || {}).cpu);
      allocatableMemory += quantity((status.allocatable || {}).memory);
    }
    for (const workload of workloads) {
      if (!nodeOf(workload) || ["Succeeded", "Failed", "Stopped"].includes(phaseOf(workload))) continue;
      const requests = requestsOf(workload);
      usedCpu += requests.cpu;
      usedMemory += requests.memory;
    }
    const warnings = [...lists.warnings.items.values()]
      .sort((a, b) => String(b.lastTimestamp || "").localeCompare(String(a.lastTimestamp || ""))).slice(0, 10);
    if (!summary.isConnected) root.replaceChildren(summary, el("h2", {}, "Charts"), groupBy, chartsBox);
    chartsBox.replaceChildren(chartsSection(nodes, workloads, byPhase, history, groupBy.querySelector("input").value.trim()));
    summary.replaceChildren(
      el("h1", {}, "Overview"),
      el("div", { class: "cards" },
        card("Nodes", nodes.length, "nodes-count"),
        card("Workloads", workloads.length, "workloads-count"),
        card("Pods", lists.pods.items.size, "pods-count"),
        card("Virtual machines", lists.vms.items.size, "vms-count"),
        card("Services", lists.services.items.size, "services-count")),
      el("h2", {}, "CPU and memory"),
      el("table", {}, el("tbody", {},
        el("tr", {}, el("th", {}, ""), el("th", {}, "capacity"), el("th", {}, "allocatable"), el("th", {}, "allocated"), el("th", {}, "")),
        el("tr", {}, el("th", {}, "CPU (cores)"), el("td", {}, cores(capacityCpu)), el("td", {}, cores(allocatableCpu)),
          el("td", { id: "allocated-cpu" }, cores(usedCpu)), el("td", {}, bar(usedCpu, allocatableCpu))),
        el("tr", {}, el("th", {}, "Memory"), el("td", {}, bytes(capacityMemory)), el("td", {}, bytes(allocatableMemory)),
          el("td", { id: "allocated-memory" }, bytes(usedMemory)), el("td", {}, bar(usedMemory, allocatableMemory))))),
      el("h2", {}, "Workloads by phase"), countTable(byPhase, "phases"),
      el("h2", {}, "Nodes by operating system"), countTable(byOs, "os"),
      el("h2", {}, "Nodes by hypervisor"), countTable(byHypervisor, "hypervisors"),
      el("h2", {}, "Recent warnings"),
      warnings.length ? el("table", { id: "warnings" }, el("tbody", {}, warnings.map((event) => el("tr", {},
        el("td", {}, age(event.lastTimestamp)), el("td", {}, `${event.involvedObject.kind}/${event.involvedObject.name}`),
        el("td", { class: "type-Warning" }, event.reason), el("td", {}, event.message))))) : el("p", {}, "None."));
  });
  // Redraws replace the summary and the charts, never the group-by field (it keeps focus and text).
  const summary = el("div");
  const chartsBox = el("div");
  // The charts' history (workloads by phase, scheduling) comes from the server every interval; the
  // last point of the phase chart is the live lists' count.
  const history = { document: null, error: "" };
  let timer = null;
  const refresh = async () => {
    try {
      history.document = await api(CHARTS);
      history.error = "";
    } catch (error) {
      history.error = error.message || String(error);
    }
    draw();
    if (!stopped) timer = setTimeout(refresh, 1000 * Math.max(5, (history.document && history.document.intervalSeconds) || 30));
  };
  let stopped = false;
  const groupBy = el("div", { class: "filters" },
    filterInput("Group nodes by label (empty: operating system and hypervisor)", "group-by", () => draw()));
  refresh();
  const lists = {
    nodes: new LiveList("nodes", {}, draw),
    pods: new LiveList("pods", {}, draw),
    vms: new LiveList("virtualmachines", {}, draw),
    services: new LiveList("services", {}, draw),
    warnings: new LiveList("events", { fieldSelector: "type=Warning" }, draw),
  };
  return { stop: () => { stopped = true; clearTimeout(timer); Object.values(lists).forEach((list) => list.stop()); } };
}

const CHARTS = "/console/charts";
const TERMINAL_PHASES = ["Succeeded", "Failed", "Stopped"];

function nodeGroupOf(node, labelKey) {
  if (labelKey) return ((node.metadata && node.metadata.labels) || {})[labelKey] || "(no label)";
  const info = (node.status && node.status.nodeInfo) || {};
  const os = info.os === "windows" && info.osBuild ? `windows ${info.osBuild}` : info.os || "unknown";
  const hypervisor = node.status && node.status.hypervisor && node.status.hypervisor.type;
  return hypervisor && hypervisor !== "none" ? `${os} ${hypervisor}` : os;
}

// Allocation per node group: what the workloads bound there request, of what the nodes offer.
function allocationByGroup(nodes, workloads, labelKey) {
  const groups = new Map();
  const groupOfNode = new Map();
  for (const node of nodes) {
    const name = nodeGroupOf(node, labelKey);
    groupOfNode.set(node.metadata.name, name);
    if (!groups.has(name)) groups.set(name, { name, nodes: 0, cpu: [0, 0], memory: [0, 0] });
    const group = groups.get(name);
    const allocatable = (node.status && node.status.allocatable) || {};
    group.nodes += 1;
    group.cpu[1] += quantity(allocatable.cpu);
    group.memory[1] += quantity(allocatable.memory);
  }
  for (const workload of workloads) {
    const group = groups.get(groupOfNode.get(nodeOf(workload)));
    if (!group || TERMINAL_PHASES.includes(phaseOf(workload))) continue;
    const requests = requestsOf(workload);
    group.cpu[0] += requests.cpu;
    group.memory[0] += requests.memory;
  }
  return [...groups.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function chartsSection(nodes, workloads, byPhase, history, labelKey) {
  const groups = allocationByGroup(nodes, workloads, labelKey);
  const parts = [groups.length
    ? allocationChart({ id: "chart-allocation", title: "Allocation per node group", groups })
    : el("p", {}, "No nodes.")];
  if (history.error) parts.push(el("p", { class: "error", id: "charts-error" }, `Charts: ${history.error}`));
  const document_ = history.document;
  if (!document_) return el("div", { class: "charts" }, parts);
  const samples = document_.samples || [];
  const now = Date.now() / 1000;
  const times = [...samples.map((sample) => sample.time), now];
  const phases = new Set(byPhase.keys());
  for (const sample of samples) for (const phase of Object.keys(sample.phases || {})) phases.add(phase);
  const phaseSeries = [...phases].sort().map((phase) => ({
    name: phase,
    values: [...samples.map((sample) => (sample.phases ? sample.phases[phase] || 0 : null)), byPhase.get(phase) || 0],
  }));
  const counts = [...byPhase.entries()].map(([phase, count]) => `${count} ${phase}`).join(", ") || "none";
  parts.push(lineChart({ id: "chart-phases", title: "Workloads by phase, last hour", times, series: phaseSeries,
    format: (value) => String(Math.round(value)), summary: `now ${counts}` }));
  const source = document_.source === "prometheus" ? `Prometheus ${document_.prometheus}` : "the API server's samples";
  if (!document_.schedulerMetrics) {
    parts.push(el("p", { id: "scheduling-note" }, "Scheduling charts: no scheduler metrics at hand (the scheduler runs " +
      "elsewhere; give atoll up --prometheus-url to read them from Prometheus)."));
  } else {
    const sampleTimes = samples.map((sample) => sample.time);
    const scheduled = samples.reduce((sum, sample) => sum + (sample.scheduled || 0), 0);
    const rate = samples.map((sample) => sample.scheduledPerSecond);
    parts.push(lineChart({ id: "chart-scheduling-rate", title: "Scheduling throughput (workloads/s)", times: sampleTimes,
      series: [{ name: "scheduled/s", values: rate }], format: (value) => (value >= 10 ? value.toFixed(0) : value.toFixed(2)),
      summary: `${Math.round(scheduled)} scheduled in the last hour` }));
    parts.push(el("p", {}, "Scheduled in the last hour: ", el("strong", { id: "scheduled-total" }, String(Math.round(scheduled)))));
    const milliseconds = (value) => `${(value * 1000).toFixed(value < 0.01 ? 1 : 0)} ms`;
    const p99 = samples.map((sample) => sample.p99Seconds).filter((value) => value !== null);
    parts.push(lineChart({ id: "chart-scheduling-latency", title: "Scheduling latency, created to bound", times: sampleTimes,
      series: [{ name: "p50", values: samples.map((sample) => sample.p50Seconds) },
        { name: "p99", values: samples.map((sample) => sample.p99Seconds) }],
      format: milliseconds, summary: p99.length ? `latest p99 ${milliseconds(p99[p99.length - 1])}` : "no workloads scheduled" }));
  }
  parts.push(el("p", { class: "muted" }, `History from ${source}, one sample every ${document_.intervalSeconds} s.`));
  return el("div", { class: "charts" }, parts);
}

function countBy(items, keyFunction) {
  const counts = new Map();
  for (const item of items) { const key = keyFunction(item); counts.set(key, (counts.get(key) || 0) + 1); }
  return new Map([...counts.entries()].sort());
}

function card(title, value, id) {
  return el("div", { class: "card" }, el("div", {}, title), el("div", { class: "number", id }, String(value)));
}

function countTable(counts, id) {
  return el("table", { id }, el("tbody", {}, [...counts.entries()].map(([key, count]) =>
    el("tr", {}, el("th", { class: `phase-${key}` }, key), el("td", {}, String(count))))));
}

function filterInput(label, id, onInput, options) {
  const input = options
    ? el("select", { id, oninput: onInput }, options.map((option) => el("option", { value: option }, option || "any")))
    : el("input", { id, type: "search", oninput: onInput });
  return el("label", {}, label, input);
}

function workloadsPage() {
  const table = new VirtualTable([
    { title: "Kind", value: (w) => w.kind === "VirtualMachine" ? "VM" : "Pod", width: "4em" },
    { title: "Namespace", value: (w) => w.metadata.namespace, width: "1fr" },
    { title: "Name", value: (w) => w.metadata.name, width: "2fr" },
    { title: "Phase", value: phaseOf, width: "8em" },
    { title: "Node", value: nodeOf, width: "1.5fr" },
    { title: "Age", value: (w) => age(w.metadata.creationTimestamp), width: "5em" },
  ], (item) => { location.hash = `#/object/${pluralOf(item.kind)}/${item.metadata.namespace}/${item.metadata.name}`; }, "workloads");
  const count = el("span", { id: "workloads-shown" });
  const draw = redrawer(() => {
    const text = (id) => document.getElementById(id) ? document.getElementById(id).value.trim() : "";
    const [namespace, kind, phase, node, name] = ["f-namespace", "f-kind", "f-phase", "f-node", "f-name"].map(text);
    const rows = [];
    for (const list of [pods, vms]) {
      if (kind && list.kind !== kind) continue;
      for (const workload of list.items.values()) {
        if (namespace && workload.metadata.namespace !== namespace) continue;
        if (phase && phaseOf(workload) !== phase) continue;
        if (node && !nodeOf(workload).includes(node)) continue;
        if (name && !workload.metadata.name.includes(name)) continue;
        rows.push(workload);
      }
    }
    rows.sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    count.textContent = `${rows.length} shown`;
    table.setRows(rows);
  });
  show(el("section", {},
    el("h1", {}, "Workloads"),
    el("div", { class: "filters" },
      filterInput("Namespace", "f-namespace", draw),
      filterInput("Kind", "f-kind", draw, ["", "Pod", "VirtualMachine"]),
      filterInput("Phase", "f-phase", draw, ["", "Pending", "Scheduled", "Running", "Succeeded", "Failed", "Stopped", "Paused"]),
      filterInput("Node", "f-node", draw),
      filterInput("Name", "f-name", draw),
      count),
    table.node));
  const pods = new LiveList("pods", {}, draw);
  pods.kind = "Pod";
  const vms = new LiveList("virtualmachines", {}, draw);
  vms.kind = "VirtualMachine";
  return { stop: () => { pods.stop(); vms.stop(); } };
}

function nodesPage() {
  const table = new VirtualTable([
    { title: "Name", value: (n) => n.metadata.name, width: "2fr" },
    { title: "Ready", value: (n) => (conditionOf(n, "Ready") || {}).status || "Unknown", width: "5em" },
    { title: "OS", value: (n) => { const i = (n.status && n.status.nodeInfo) || {}; return [i.os, i.osBuild].filter(Boolean).join(" "); }, width: "1fr" },
    { title: "Hypervisor", value: (n) => (n.status && n.status.hypervisor && n.status.hypervisor.type) || "", width: "7em" },
    { title: "CPU", value: (n) => ((n.status && n.status.allocatable) || {}).cpu || "", width: "5em" },
    { title: "Memory", value: (n) => ((n.status && n.status.allocatable) || {}).memory || "", width: "7em" },
    { title: "Taints", value: (n) => ((n.spec && n.spec.taints) || []).map((t) => `${t.key}:${t.effect}`).join(", "), width: "1.5fr" },
    { title: "Schedulable", value: (n) => (n.spec && n.spec.unschedulable ? "no (cordoned)" : "yes"), width: "7em" },
  ], (item) => { location.hash = `#/object/nodes//${item.metadata.name}`; }, "nodes");
  const draw = redrawer(() => {
    const filter = (document.getElementById("f-node-name") || { value: "" }).value.trim();
    const rows = [...nodes.items.values()].filter((node) => !filter || node.metadata.name.includes(filter));
    rows.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    table.setRows(rows);
  });
  show(el("section", {}, el("h1", {}, "Nodes"), el("div", { class: "filters" }, filterInput("Name", "f-node-name", draw)), table.node));
  const nodes = new LiveList("nodes", {}, draw);
  return { stop: () => nodes.stop() };
}

function simpleListPage(title, plural, columns) {
  const table = new VirtualTable(columns, (item) => {
    location.hash = `#/object/${plural}/${item.metadata.namespace || ""}/${item.metadata.name}`;
  }, plural);
  const draw = redrawer(() => table.setRows([...list.items.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)))));
  show(el("section", {}, el("h1", {}, title), table.node));
  const list = new LiveList(plural, {}, draw);
  return { stop: () => list.stop() };
}

function servicesPage() {
  return simpleListPage("Services", "services", [
    { title: "Namespace", value: (s) => s.metadata.namespace },
    { title: "Name", value: (s) => s.metadata.name },
    { title: "Type", value: (s) => s.spec.type || "ClusterIP" },
    { title: "Cluster IP", value: (s) => s.spec.clusterIP || "" },
    { title: "Ports", value: (s) => (s.spec.ports || []).map((p) => `${p.port}/${p.protocol || "TCP"}`).join(", ") },
  ]);
}

function deploymentsPage() {
  return simpleListPage("Deployments", "deployments", [
    { title: "Namespace", value: (d) => d.metadata.namespace },
    { title: "Name", value: (d) => d.metadata.name },
    { title: "Ready", value: (d) => `${(d.status && d.status.readyReplicas) || 0}/${d.spec.replicas || 0}` },
    { title: "Up to date", value: (d) => String((d.status && d.status.updatedReplicas) || 0) },
    { title: "Available", value: (d) => String((d.status && d.status.availableReplicas) || 0) },
  ]);
}

// YAML for reading (not for round trips): keys in the server's order, strings quoted when needed.
function toYaml(value, indent = "") {
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return value.map((item) => {
      const text = toYaml(item, indent + "  ");
      return `\n${indent}- ${typeof item === "object" && item !== null ? text.trimStart() : text}`;
    }).join("");
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (!entries.length) return "{}";
    return entries.map(([key, item]) => {
      const text = toYaml(item, indent + "  ");
      const nested = item !== null && typeof item === "object" && Object.keys(item).length;
      return `\n${indent}${scalar(key)}:${nested ? "" : " "}${text}`;
    }).join("");
  }
  return scalar(value);
}

function scalar(value) {
  if (typeof value !== "string") return String(value);
  return /^[A-Za-z0-9_./-][A-Za-z0-9 _./:-]*$/.test(value) && !/^(true|false|null|yes|no|[0-9.]+)$/i.test(value) && !/ $/.test(value)
    ? value : JSON.stringify(value);
}

function objectPage(plural, namespace, name) {
  const root = el("section", {}, el("h1", {}, `${plural}/${name}`), el("p", {}, "Loading…"));
  show(root);
  const actions = el("div", { class: "actions", id: "actions" });
  const message = el("p", { class: "error", role: "alert", id: "action-error" });
  const summary = el("div", { id: "summary" });
  const yaml = el("pre", { id: "yaml" });
  const eventsTable = el("table", { id: "events" });
  const logs = el("pre", { id: "logs", hidden: true });
  const explanation = el("div", { id: "explanation" });
  let logsController = null;
  root.replaceChildren(el("h1", {}, `${plural}/${namespace ? namespace + "/" : ""}${name}`), actions, message, summary, explanation,
    el("h2", {}, "Events"), eventsTable, el("h2", {}, "YAML"), yaml, logs);
  const kindName = plural === "virtualmachines" ? "VirtualMachine" : plural === "pods" ? "Pod" : plural === "nodes" ? "Node" : "";
  const drawObject = redrawer(() => {
    drawEvents();
    const object = self.items.values().next().value;
    if (!object) { summary.replaceChildren(el("p", {}, self.ready ? "Not found (deleted?)." : "Loading…")); return; }
    const status = object.status || {};
    const workload = plural === "pods" || plural === "virtualmachines";
    const rows = [["Phase", workload ? phaseOf(object) : status.phase || ""], ["Node", nodeOf(object)], ["Created", object.metadata.creationTimestamp || ""],
      ["Resource version", String(object.metadata.resourceVersion)]];
    if (status.message) rows.push(["Message", status.message]);
    if (status.reason) rows.push(["Reason", status.reason]);
    summary.replaceChildren(el("table", {}, el("tbody", {}, rows.filter(([, v]) => v).map(([k, v]) =>
      el("tr", {}, el("th", {}, k), el("td", { id: `summary-${k.toLowerCase().replace(/ /g, "-")}` }, v))))),
    conditionsTable(status.conditions || []));
    yaml.textContent = toYaml(object).trimStart();
  });
  const drawEvents = redrawer(() => {
    const events = [...eventList.items.values()].sort((a, b) => String(a.lastTimestamp || "").localeCompare(String(b.lastTimestamp || "")));
    const object = self.items.values().next().value;
    const failed = events.filter((event) => event.reason === "FailedScheduling").pop();
    explanation.replaceChildren(object && !nodeOf(object) && failed ? explanationTable(failed.message) : "");
    eventsTable.replaceChildren(el("tbody", {}, events.length ? events.map((event) => el("tr", {},
      el("td", {}, age(event.lastTimestamp)), el("td", { class: `type-${event.type}` }, event.type), el("td", {}, event.reason),
      el("td", {}, event.count > 1 ? `×${event.count}` : ""), el("td", { class: "event-message" }, event.message))) : el("tr", {}, el("td", {}, "No events."))));
  });
  const self = new LiveList(plural, { namespace, fieldSelector: `metadata.name=${name}` }, drawObject);
  const eventSelector = [`involvedObject.name=${name}`, kindName ? `involvedObject.kind=${kindName}` : "",
    namespace ? `involvedObject.namespace=${namespace}` : ""].filter(Boolean).join(",");
  const eventList = new LiveList("events", { fieldSelector: eventSelector }, drawEvents);
  offerActions(plural, namespace, name, actions, message, logs, (controller) => { logsController = controller; });
  const hosted = plural === "nodes" ? nodeWorkloads(name, root) : [];
  if (plural === "deployments") rolloutSection(namespace, name, root, self, message);
  return { stop: () => { self.stop(); eventList.stop(); hosted.forEach((list) => list.stop()); if (logsController) logsController.abort(); } };
}

// The scheduler's "0/N nodes are available: A reason, B reason." as a table, largest first.
function explanationTable(text) {
  const match = /^0\/(\d+) nodes are available:?\s*([\s\S]*)$/.exec(text || "");
  if (!match) return el("p", {}, text);
  const end = /\.(\s|$)/.exec(match[2]);
  const listed = end ? match[2].slice(0, end.index) : match[2];
  const rest = end ? match[2].slice(end.index + 1).trim() : "";
  const reasons = listed ? listed.split(/,\s(?=\d+\s)/) : [];
  return el("div", {}, el("h2", {}, `Why it is not scheduled: 0 of ${match[1]} nodes fit`),
    el("table", { id: "explanation-table" }, el("tbody", {}, reasons.map((reason) => {
      const parts = /^(\d+)\s+([\s\S]*)$/.exec(reason) || [null, "", reason];
      return el("tr", {}, el("td", {}, parts[1]), el("td", {}, parts[2]));
    }))), rest ? el("p", {}, rest) : "");
}

// A Deployment's rollout: progress from its status (live), its revision history from the server
// (atoll/revisions.py through /history), and Undo for users who may update it.
function rolloutSection(namespace, name, root, live, message) {
  const progress = el("p", { id: "rollout-progress" });
  const table = el("table", { id: "rollout-history" });
  const undo = el("div", { class: "actions" });
  root.append(el("h2", {}, "Rollout"), progress, table, undo);
  let shownRevision = null;
  const base = objectPath("deployments", namespace, name);
  async function loadHistory() {
    const history = await api(`${base}/history`);
    table.replaceChildren(el("tbody", {}, el("tr", {}, el("th", {}, "revision"), el("th", {}, "hash"), el("th", {}, "template")),
      history.revisions.map((revision) => el("tr", {},
        el("td", {}, revision.revision === history.current ? `${revision.revision} (current)` : String(revision.revision)),
        el("td", {}, revision.hash), el("td", {}, templateSummary(revision.template))))));
  }
  const previous = live.onChange;
  live.onChange = (list) => {
    previous(list);
    const object = list.items.values().next().value;
    if (!object) return;
    const status = object.status || {};
    progress.textContent = `${status.updatedReplicas || 0} updated, ${status.readyReplicas || 0} ready, ` +
      `${status.availableReplicas || 0} available of ${object.spec.replicas || 0} wanted`;
    const revision = (object.metadata.annotations || {})["deployment.atoll.dev/revision"] || "";
    if (revision !== shownRevision) { shownRevision = revision; loadHistory().catch((error) => { message.textContent = error.message; }); }
  };
  can("update", "deployments", namespace, name).then((allowed) => {
    if (!allowed) return;
    undo.append(el("button", { type: "button", id: "action-undo", onclick: async () => {
      message.textContent = "";
      try {
        await api(`${base}/undo`, { method: "POST" });
        await loadHistory();
      } catch (error) {
        message.textContent = `undo: ${error.message}`;
      }
    } }, "Undo (roll back to the previous revision)"));
  });
}

function templateSummary(template) {
  if (template.virtualMachine) return `VirtualMachine ${template.virtualMachine.spec.vcpus || ""} vCPU ${template.virtualMachine.spec.memory || ""}`;
  const containers = (template.pod && template.pod.spec && template.pod.spec.containers) || [];
  return `Pod ${containers.map((container) => container.image).join(",")}`;
}

// The workloads bound to a node, live (a field selector on spec.nodeName, served by the API).
function nodeWorkloads(node, root) {
  const table = el("table", { id: "node-workloads" });
  root.append(el("h2", {}, "Workloads on this node"), table);
  const draw = redrawer(() => {
    const rows = [...pods.items.values(), ...vms.items.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    table.replaceChildren(el("tbody", {}, rows.length ? rows.map((w) => el("tr", {},
      el("td", {}, w.kind), el("td", {}, el("a", { href: `#/object/${pluralOf(w.kind)}/${w.metadata.namespace}/${w.metadata.name}` },
        `${w.metadata.namespace}/${w.metadata.name}`)), el("td", {}, phaseOf(w)))) : el("tr", {}, el("td", {}, "None."))));
  });
  const pods = new LiveList("pods", { fieldSelector: `spec.nodeName=${node}` }, draw);
  const vms = new LiveList("virtualmachines", { fieldSelector: `spec.nodeName=${node}` }, draw);
  return [pods, vms];
}

function conditionsTable(conditions) {
  if (!conditions.length) return el("div");
  return el("div", {}, el("h2", {}, "Conditions"), el("table", {}, el("tbody", {}, conditions.map((c) => el("tr", {},
    el("th", {}, c.type), el("td", {}, c.status), el("td", {}, c.reason || ""), el("td", {}, c.message || ""))))));
}

// Only what the user may do is offered: each button appears after the server says yes.
async function offerActions(plural, namespace, name, container, message, logs, onLogs) {
  if (plural === "virtualmachines" && await can("update", "virtualmachines", namespace, name)) {
    for (const action of ["start", "stop", "restart", "pause", "resume"]) {
      container.append(el("button", { type: "button", id: `action-${action}`, onclick: async () => {
        message.textContent = "";
        try {
          await api(`${objectPath(plural, namespace, name)}/${action}`, { method: "POST" });
          message.textContent = "";
          container.setAttribute("data-last-action", action);
        } catch (error) {
          message.textContent = `${action}: ${error.message}`;
        }
      } }, action[0].toUpperCase() + action.slice(1)));
    }
  }
  if (plural === "virtualmachines" && await can("create", "virtualmachinemigrations", namespace)) {
    container.append(el("button", { type: "button", id: "action-migrate", onclick: async () => {
      message.textContent = "";
      const migration = { apiVersion: "atoll.dev/v1", kind: "VirtualMachineMigration",
        metadata: { name: `${name}-migration-${Date.now().toString(36)}`.slice(-63).replace(/^[^a-z0-9]+/, "") },
        spec: { vmName: name } };
      try {
        await api(collectionPath("virtualmachinemigrations", namespace), {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(migration) });
        container.setAttribute("data-last-action", "migrate");
      } catch (error) {
        message.textContent = `migrate: ${error.message}`;
      }
    } }, "Migrate"));
  }
  if ((plural === "pods" || plural === "virtualmachines") && await can("get", plural, namespace, name)) {
    container.append(el("button", { type: "button", id: "action-logs", onclick: () => followLogs(plural, namespace, name, logs, message, onLogs) }, "Logs"));
  }
}

async function followLogs(plural, namespace, name, logs, message, onLogs) {
  const controller = new AbortController();
  onLogs(controller);
  logs.hidden = false;
  logs.textContent = "";
  try {
    const response = await fetch(`${objectPath(plural, namespace, name)}/log?follow=true&tailLines=500`, { headers: headers(), signal: controller.signal });
    if (!response.ok) throw await failure(response);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      logs.append(document.createTextNode(decoder.decode(value, { stream: true })));
      logs.scrollTop = logs.scrollHeight;
    }
  } catch (error) {
    if (error.name !== "AbortError") message.textContent = `logs: ${error.message}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Routing and login

function route() {
  if (page) { page.stop(); page = null; }
  if (!session.token && !session.certificate) { showLogin(); return; }
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const name = parts[0] || "overview";
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  if (name === "object" && parts.length >= 4) page = objectPage(parts[1], parts[2], parts.slice(3).join("/"));
  else if (name === "nodes") page = nodesPage();
  else if (name === "workloads") page = workloadsPage();
  else if (name === "services") page = servicesPage();
  else if (name === "deployments") page = deploymentsPage();
  else page = overviewPage();
  main().focus();
}

function showLogin(note) {
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("who").textContent = "";
  const form = document.getElementById("login") || buildLogin();
  show(form);
  document.getElementById("login-error").textContent = note || "";
  document.getElementById("token").focus();
}

function buildLogin() {
  return el("form", { id: "login", class: "login" }, el("h1", {}, "Log in"),
    el("label", { for: "token" }, "Token"), el("input", { id: "token", type: "password", autocomplete: "off" }),
    el("button", { id: "login-button", type: "submit" }, "Log in"),
    el("p", {}, "Or, when your browser holds a client certificate signed by the cluster CA:"),
    el("button", { id: "certificate-button", type: "button" }, "Log in with my client certificate"),
    el("p", { id: "login-error", class: "error", role: "alert" }));
}

// token "" with certificate true: the browser's client certificate says who the user is.
async function login(token, certificate) {
  session.token = token;
  session.certificate = Boolean(certificate);
  decisions.clear();
  const review = await api(`${API}/selfsubjectaccessreviews`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ spec: { resourceAttributes: { verb: "list", resource: "pods" } } }),
  });
  session.user = review.status.user;
  if (session.certificate) sessionStorage.setItem(CERTIFICATE_KEY, "1"); else sessionStorage.setItem(TOKEN_KEY, token);
  document.getElementById("nav").hidden = false;
  document.getElementById("logout").hidden = false;
  const how = session.certificate ? " (client certificate)" : "";
  document.getElementById("who").textContent = session.user ? `logged in as ${session.user}${how}` : "dev mode (no authentication)";
  if (!location.hash || location.hash === "#/login") location.hash = "#/overview";
  else route();
}

function logout(note) {
  if (page) { page.stop(); page = null; }
  session.token = "";
  session.certificate = false;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(CERTIFICATE_KEY);
  decisions.clear();
  showLogin(note);
}

document.addEventListener("submit", async (event) => {
  if (event.target.id !== "login") return;
  event.preventDefault();
  const token = document.getElementById("token").value.trim();
  if (!token) { document.getElementById("login-error").textContent = "Paste a token, or log in with a client certificate."; return; }
  try {
    await login(token, false);
  } catch (error) {
    session.token = "";
    document.getElementById("login-error").textContent = error.message;
  }
});

document.addEventListener("click", async (event) => {
  if (event.target.id !== "certificate-button") return;
  try {
    await login("", true);
  } catch (error) {
    session.certificate = false;
    document.getElementById("login-error").textContent = error.code === 401
      ? `This browser presented no client certificate the server accepts (${error.message}). Import one signed by the cluster CA (atoll certs), then try again.`
      : error.message;
  }
});

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("logout").addEventListener("click", () => logout());
  window.addEventListener("hashchange", route);
  if (session.token || session.certificate) login(session.token, session.certificate).catch(() => showLogin());
  else showLogin();
});
