#include "txend/status_page_script.h"

namespace txend::daemon {

const char kStatusPageScript[] = R"js("use strict";
const txend = (() => {
  const kWindowSeconds = 300;  // the graph shows the last five minutes
  const kMaxSamples = 600;     // and never keeps more than this many samples per domain
  const kWaitSeconds = 2;      // the longest the page waits for a change before sampling again
  // The buttons: op, label, and the op's other parameters (as xm sends them).
  const kOps = [
    ["pause", "Pause", {}],
    ["unpause", "Unpause", {}],
    ["shutdown", "Shutdown", {reason: "poweroff"}],
  ];
  const kEscapes = {n: 10, t: 9, r: 13};
  const body = document.querySelector("#domains tbody");
  const note = document.getElementById("note");
  const rows = new Map();  // domain name -> its row, cells, graph and sample ring
  let fresh = true;        // the server's rows are still shown
  let next = null;         // the next change number GET /xend/events will report

  // A quoted SXP atom starting at text[start]: its value (Python's escapes, \xHH bytes as
  // UTF-8) and where it ends.
  function readQuoted(text, start) {
    const quote = text[start], bytes = [], utf8 = new TextEncoder();
    let i = start + 1;
    while (i < text.length && text[i] !== quote) {
      if (text[i] === "\\" && i + 1 < text.length) {
        const e = text[i + 1];
        if (e === "x") {
          bytes.push(parseInt(text.substr(i + 2, 2), 16) & 255);
          i += 4;
        } else {
          bytes.push(e in kEscapes ? kEscapes[e] : e.charCodeAt(0) & 255);
          i += 2;
        }
        continue;
      }
      const ch = String.fromCodePoint(text.codePointAt(i));
      bytes.push(...utf8.encode(ch));
      i += ch.length;
    }
    if (i >= text.length) throw new Error("unterminated string in reply");
    return [new TextDecoder().decode(new Uint8Array(bytes)), i + 1];
  }

  // Every top-level value of an SXP text: lists as arrays, atoms as strings.
  function parseSxp(text) {
    const top = [], open = [top];
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      if (/\s/.test(c)) {
        i++;
      } else if (c === "(") {
        const list = [];
        open[open.length - 1].push(list);
        open.push(list);
        i++;
      } else if (c === ")") {
        if (open.length === 1) throw new Error("unbalanced ) in reply");
        open.pop();
        i++;
      } else if (c === "'" || c === '"') {
        const [atom, end] = readQuoted(text, i);
        open[open.length - 1].push(atom);
        i = end;
      } else {
        let j = i;
        while (j < text.length && !/[\s()'"]/.test(text[j])) j++;
        open[open.length - 1].push(text.slice(i, j));
        i = j;
      }
    }
    if (open.length !== 1) throw new Error("unbalanced ( in reply");
    return top;
  }

  // The value of (name value) inside `list`, or undefined.
  function field(list, name) {
    for (const item of list.slice(1))
      if (Array.isArray(item) && item[0] === name) return item[1];
    return undefined;
  }

  // An error reply's text: xend's (xend.err 'message'), else the HTTP status.
  function errorText(text, reply) {
    try {
      const [v] = parseSxp(text);
      if (Array.isArray(v) && v[0] === "xend.err" && typeof v[1] === "string") return v[1];
    } catch (e) {}
    return reply.status + " " + reply.statusText;
  }

  // One request to the API: its SXP values, or an Error carrying the API's error text.
  async function api(path, init = {}) {
    const headers = {Accept: "application/sxp"};
    const reply = await fetch(path, {cache: "no-store", ...init, headers});
    const text = await reply.text();
    if (!reply.ok) throw new Error(errorText(text, reply));
    return parseSxp(text);
  }

  function say(text, error) {
    note.textContent = text;
    note.className = error ? "error" : "";
  }

  function newRow(name) {
    const tr = document.createElement("tr");
    tr.dataset.name = name;
    const cells = {};
    for (const key of ["name", "domid", "state", "memory", "vcpus", "cpu", "graph", "ops"]) {
      cells[key] = tr.insertCell();
      if (["domid", "memory", "vcpus", "cpu"].includes(key)) cells[key].className = "n";
    }
    cells.name.textContent = name;
    const canvas = document.createElement("canvas");
    canvas.width = 240;
    canvas.height = 36;
    canvas.title = "CPU use, last " + kWindowSeconds / 60 + " minutes";
    cells.graph.append(canvas);
    const buttons = {};
    for (const [op, label, extra] of kOps) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.dataset.op = op;
      b.addEventListener("click", () => act(name, op, extra));
      buttons[op] = b;
      cells.ops.append(b);
    }
    return {tr, cells, canvas, buttons, ring: [], last: null};
  }

  // Adds a CPU % sample from the cpu_time delta since the last one (same domid only), at
  // most all of its vcpus (the page's clock is not the host's: replies arrive late or early).
  function sample(row, domid, cpu, vcpus, now) {
    if (row.last && row.last.domid === domid && now > row.last.t && cpu >= row.last.cpu) {
      const pct = (100 * (cpu - row.last.cpu)) / (now - row.last.t);
      row.ring.push({t: now, pct: Math.min(pct, 100 * vcpus)});
    } else if (row.last && row.last.domid !== domid) {
      row.ring.length = 0;
    }
    if (!row.last || now > row.last.t) row.last = {t: now, cpu, domid};
    while (row.ring.length && (row.ring[0].t < now - kWindowSeconds || row.ring.length > kMaxSamples))
      row.ring.shift();
  }

  function draw(row, vcpus, now) {
    const g = row.canvas.getContext("2d"), w = row.canvas.width, h = row.canvas.height;
    const ceiling = 100 * Math.max(1, vcpus);
    g.clearRect(0, 0, w, h);
    g.fillStyle = "#f3f3f3";
    g.fillRect(0, 0, w, h);
    row.canvas.dataset.samples = row.ring.length;
    if (!row.ring.length) return;
    const x = (t) => ((t - (now - kWindowSeconds)) / kWindowSeconds) * w;
    const y = (pct) => h - Math.min(pct / ceiling, 1) * (h - 2);
    g.beginPath();
    g.moveTo(x(row.ring[0].t), h);
    for (const s of row.ring) g.lineTo(x(s.t), y(s.pct));
    g.lineTo(x(row.ring[row.ring.length - 1].t), h);
    g.closePath();
    g.fillStyle = "#9bc1e6";
    g.fill();
    g.beginPath();
    for (const s of row.ring) g.lineTo(x(s.t), y(s.pct));
    g.strokeStyle = "#2f6ea8";
    g.stroke();
  }

  function update(row, d, now) {
    const domid = field(d, "domid"), state = field(d, "state") || "";
    const vcpus = Number(field(d, "online_vcpus") || field(d, "vcpus") || 1);
    const cpu = Number(field(d, "cpu_time"));
    row.cells.domid.textContent = domid === undefined ? "-" : domid;
    row.cells.state.textContent = state;
    row.cells.memory.textContent = (field(d, "memory") || "") + " MiB";
    row.cells.vcpus.textContent = vcpus;
    if (domid !== undefined && Number.isFinite(cpu)) sample(row, domid, cpu, vcpus, now);
    const latest = row.ring[row.ring.length - 1];
    row.cells.cpu.textContent = latest ? latest.pct.toFixed(1) + " %" : "";
    draw(row, vcpus, now);
    const running = domid !== undefined && domid !== "0", paused = state.includes("p");
    row.buttons.pause.disabled = !running || paused;
    row.buttons.unpause.disabled = !running || !paused;
    row.buttons.shutdown.disabled = !running;
    row.cells.ops.style.visibility = domid === "0" ? "hidden" : "";
  }

  // Shows `domains` ((domain ...) SXPs) as the table's rows, in their order. Rows in place
  // stay where they are, so a button being pressed is never taken away from the pointer.
  function render(domains, now = performance.now() / 1000) {
    if (fresh) body.replaceChildren();
    fresh = false;
    const seen = new Set();
    let at = 0;
    for (const d of domains) {
      const name = field(d, "name");
      if (typeof name !== "string" || seen.has(name)) continue;
      seen.add(name);
      if (!rows.has(name)) rows.set(name, newRow(name));
      const row = rows.get(name);
      update(row, d, now);
      if (body.children[at] !== row.tr) body.insertBefore(row.tr, body.children[at] || null);
      at++;
    }
    for (const [name, row] of rows)
      if (!seen.has(name)) {
        row.tr.remove();
        rows.delete(name);
      }
  }

  async function refresh() {
    const [list] = await api("/xend/domain?detail=1&state=all");
    render(Array.isArray(list) ? list : []);
  }

  // Returns when a domain changes or after kWaitSeconds (the long poll of GET /xend/events).
  async function changeOrTimeout() {
    try {
      if (next === null) next = field((await api("/xend/events"))[0], "next");
      const [events] = await api("/xend/events?since=" + next + "&wait=" + kWaitSeconds);
      next = field(events, "next");
    } catch (e) {
      next = null;
      await new Promise((done) => setTimeout(done, kWaitSeconds * 1000));
    }
  }

  // POSTs op=`op` to the domain, as xm does; the API's own authorization applies.
  async function act(name, op, extra = {}) {
    say(op + " " + name + "\u2026", false);
    try {
      await api("/xend/domain/" + encodeURIComponent(name),
                {method: "POST", body: new URLSearchParams({op, ...extra})});
      say(op + " " + name + ": done", false);
    } catch (e) {
      say(op + " " + name + ": " + e.message, true);
    }
    refresh().catch(() => {});
  }

  async function run() {
    let down = false;
    for (;;) {
      try {
        await refresh();
        if (down) say("", false);
        down = false;
      } catch (e) {
        say("txend: " + e.message, true);
        down = true;
      }
      await changeOrTimeout();
    }
  }

  run();
  return {parseSxp, render, act};
})();
)js";

}  // namespace txend::daemon
