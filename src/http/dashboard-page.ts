/**
 * The dashboard page: one self-contained document (HTML, CSS, hand-written
 * JS drawing SVG charts) — nothing fetched from anywhere but the stack
 * itself, so it works offline. Live data arrives over Server-Sent Events
 * ("/_stack/events") or, with the WebSocket button or `?transport=ws`, over
 * "/_stack/ws". See src/http/dashboard.ts for the routes.
 *
 * The script below is plain ES2017 in a template literal: it must not contain
 * a backtick or a dollar-brace sequence.
 */

import { cwndMarkStyle, cwndMarksInRange } from './cwnd-marks.js';

/** The cwnd chart's annotation helpers (cwnd-marks.ts), their source embedded in the script. */
const SCRIPT_WITH_MARKS_PLACEHOLDER = '/*CWND_MARKS*/';

export interface PageOptions {
  /** The stack's address (shown in the title bar). */
  address: string;
  sampleMs: number;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = String.raw`
*{box-sizing:border-box}
body{margin:0;font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#0f1419;color:#d8dee9}
header{display:flex;gap:16px;align-items:baseline;padding:8px 14px;background:#161c24;border-bottom:1px solid #2a3340}
h1{font-size:17px;margin:0;color:#eceff4}
h2{font-size:14px;margin:0 0 6px;color:#eceff4}
h2 small,figcaption{color:#8b95a5;font-weight:normal;font-size:12px}
h3{font-size:12px;margin:8px 0 4px;color:#a3b1c2}
#status{color:#a3be8c}
#status.bad{color:#bf616a}
button{background:#222b36;color:#d8dee9;border:1px solid #3b4656;border-radius:3px;padding:2px 8px;cursor:pointer;font:inherit}
button.on{background:#3b5573;border-color:#5e81ac}
main{display:grid;grid-template-columns:minmax(300px,1fr) minmax(300px,1fr) minmax(300px,1fr);gap:10px;padding:10px}
section{background:#161c24;border:1px solid #2a3340;border-radius:4px;padding:8px 10px;min-width:0}
.wide{grid-column:1 / -1}
table{border-collapse:collapse;width:100%;font:12px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
td,th{padding:1px 6px;text-align:right;white-space:nowrap}
th{color:#8b95a5;font-weight:normal;border-bottom:1px solid #2a3340}
td.l,th.l{text-align:left}
#counters td:first-child{text-align:left;color:#a3b1c2}
#sockets tbody tr{cursor:pointer}
#sockets tbody tr:hover{background:#1f2833}
#sockets tbody tr.sel{background:#2e3f55}
.st-ESTAB{color:#a3be8c}.st-SYN-RECV,.st-SYN-SENT{color:#ebcb8b}.st-TIME-WAIT,.st-CLOSED{color:#6b7686}.st-FIN-WAIT-1,.st-FIN-WAIT-2,.st-CLOSE-WAIT,.st-LAST-ACK,.st-CLOSING{color:#d08770}
.gauge{margin:4px 0 8px}
.bar{position:relative;height:14px;background:#222b36;border:1px solid #3b4656;border-radius:2px;margin:2px 0}
.bar i{position:absolute;left:0;top:0;bottom:0;background:#5e81ac}
.bar.hot i{background:#bf616a}
.bar span{position:absolute;left:6px;top:0;font-size:11px;line-height:14px}
.charts{display:grid;grid-template-columns:2fr 1fr 1fr 1fr;gap:8px}
figure{margin:0;min-width:0}
svg{width:100%;display:block;background:#10161d;border:1px solid #232c38}
svg text{fill:#8b95a5;font:10px ui-monospace,Menlo,Consolas,monospace}
svg .ax{stroke:#2f3a48;stroke-width:1}
#log{list-style:none;margin:0;padding:0;max-height:340px;overflow:auto;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace}
#log li{border-bottom:1px solid #1f2833;padding:1px 0}
#log .k-state{color:#88c0d0}#log .k-retrans{color:#bf616a}#log .k-cookie{color:#ebcb8b}#log .k-drops{color:#d08770}#log .k-reasm{color:#b48ead}#log .k-bye,#log .k-error{color:#bf616a}
.legend span{margin-right:10px}
.muted{color:#6b7686}
`;

const SCRIPT = String.raw`
"use strict";
(function () {
  var FEED = "/_stack/events", WSPATH = "/_stack/ws", SNAP = "/_stack/snapshot";
  var params = new URLSearchParams(location.search);
  var token = params.get("token");
  var transport = params.get("transport") === "ws" ? "ws" : "sse";
  var auto = params.get("auto") !== "0";
  var pinned = params.get("conn");
  function withToken(u) { return token ? u + (u.indexOf("?") < 0 ? "?" : "&") + "token=" + encodeURIComponent(token) : u; }
  function $(id) { return document.getElementById(id); }
  /*CWND_MARKS*/
  var NS = "http://www.w3.org/2000/svg";
  var S = {
    conns: new Map(), prevBytes: new Map(), listeners: new Map(), lhist: new Map(),
    counters: null, hist: [], rateHist: [], rates: {},
    selected: null, segs: [], samples: [], marks: [], events: 0, evWindow: [], dirty: true
  };
  var main = null, follow = null, ws = null;

  function fmtBytes(n) {
    if (n >= 1e9) return (n / 1e9).toFixed(2) + " GB";
    if (n >= 1e6) return (n / 1e6).toFixed(2) + " MB";
    if (n >= 1e3) return (n / 1e3).toFixed(1) + " kB";
    return String(Math.round(n)) + " B";
  }
  function fmtNum(n) { return n >= 1e6 ? (n / 1e6).toFixed(2) + "M" : n >= 1e4 ? (n / 1e3).toFixed(1) + "k" : String(Math.round(n * 10) / 10); }
  function ip(n) { return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join("."); }
  function flagStr(f) {
    var a = [];
    if (f & 2) a.push("SYN"); if (f & 1) a.push("FIN"); if (f & 4) a.push("RST"); if (f & 8) a.push("PSH"); if (f & 16) a.push("ACK");
    return a.join(",") || "-";
  }
  function el(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function setStatus(text, bad) { var s = $("status"); s.textContent = text; s.className = bad ? "bad" : ""; }

  // ------------------------------------------------------------ feed handling
  function onEvent(ev, fromFollow) {
    S.events++;
    switch (ev.type) {
      case "hello":
        if (!fromFollow) {
          S.conns = new Map(); ev.conns.forEach(function (r) { S.conns.set(r.id, r); });
          S.listeners = new Map(); ev.listeners.forEach(function (l) { S.listeners.set(l.local, l); });
          takeCounters(ev.t, ev.stats);
          if (pinned !== null && S.selected === null) select(Number(pinned));
        } else ev.conns.forEach(function (r) { S.conns.set(r.id, r); });
        break;
      case "counters": takeCounters(ev.t, ev.stats); break;
      case "listener":
        S.listeners.set(ev.local, ev);
        var h = S.lhist.get(ev.local) || []; h.push([ev.t, ev.synQ, ev.acceptQ]); if (h.length > 300) h.shift(); S.lhist.set(ev.local, h);
        break;
      case "sample":
        if (fromFollow && ev.id === S.selected) { S.samples.push(ev); if (S.samples.length > 3000) S.samples.shift(); }
        S.conns.set(ev.id, ev);
        if (!fromFollow) maybeAutoSelect(ev);
        break;
      case "state":
        var r = S.conns.get(ev.conn);
        if (r) r.state = ev.to; else S.conns.set(ev.conn, { id: ev.conn, state: ev.to, local: ev.local, peer: ev.peer, recvQ: 0, sendQ: 0, cwnd: 0, ssthresh: -1, mss: 0, srtt: 0, rttvar: 0, rto: 0, retrans: 0, bytesAcked: 0, bytesReceived: 0, bytesSent: 0 });
        if (ev.to === "CLOSED") setTimeout(function () { var x = S.conns.get(ev.conn); if (x && x.state === "CLOSED") S.conns.delete(ev.conn); S.dirty = true; }, 1500);
        if (!fromFollow) log("state", "#" + ev.conn + " " + ev.peer + " " + ev.from + " \u2192 " + ev.to, ev.t);
        break;
      case "seg":
        if (ev.conn === S.selected) { S.segs.push(ev); if (S.segs.length > 6000) S.segs.splice(0, 1000); }
        break;
      case "cwnd":
        if (fromFollow && ev.conn === S.selected) { S.marks.push({ t: ev.t, cause: ev.cause }); if (S.marks.length > 500) S.marks.shift(); S.dirty = true; }
        if (!fromFollow) log("cwnd", "#" + ev.conn + " cwnd " + Math.round(ev.prevCwnd / Math.max(1, ev.mss)) + " \u2192 " + Math.round(ev.cwnd / Math.max(1, ev.mss)) + " (" + ev.cause + ")", ev.t);
        break;
      case "retrans": if (!fromFollow) log("retrans", "#" + ev.conn + " retransmission (snd_una " + ev.sndUna + ", " + ev.total + " so far)", ev.t); break;
      case "cookie": log("cookie", "SYN cookie " + ev.what + " " + ev.peer + " \u2192 " + ev.local, ev.t); break;
      case "reasm": log("reasm", "reassembly " + ev.what + " " + ev.src + " \u2192 " + ev.dst + " id " + ev.id + " (" + ev.bytes + " B)", ev.t); break;
      case "drops":
        log("drops", "drops: " + Object.keys(ev.deltas).map(function (k) { return k + " +" + ev.deltas[k]; }).join(", "), ev.t); break;
      case "suppressed":
        log("suppressed", "budget: left out " + Object.keys(ev.counts).map(function (k) { return ev.counts[k] + " " + k; }).join(", "), ev.t); break;
      case "bye": log("bye", "feed ended: " + ev.reason, ev.t); break;
      case "error": log("error", ev.error); break;
    }
    S.dirty = true;
  }

  function flatten(stats) {
    var out = {};
    ["Ip", "Icmp", "Udp", "Tcp", "TcpExt", "Gauges"].forEach(function (g) {
      var o = stats[g]; if (!o) return;
      for (var k in o) if (typeof o[k] === "number") out[g + " " + k] = o[k];
    });
    var d = stats.drops || {};
    for (var k2 in d) out["drop " + k2] = d[k2];
    return out;
  }
  function takeCounters(t, stats) {
    var flat = flatten(stats);
    S.counters = flat;
    S.hist.push([t, flat]);
    while (S.hist.length > 2 && t - S.hist[0][0] > 1000) S.hist.shift();
    var old = S.hist[0], dt = (t - old[0]) / 1000, rates = {};
    if (dt > 0) for (var k in flat) if (k.indexOf("Gauges") !== 0) rates[k] = (flat[k] - (old[1][k] || 0)) / dt;
    S.rates = rates;
    S.rateHist.push([t, rates["Tcp InSegs"] || 0, rates["Tcp OutSegs"] || 0, rates["Tcp RetransSegs"] || 0]);
    if (S.rateHist.length > 600) S.rateHist.shift();
  }

  function maybeAutoSelect(ev) {
    var total = ev.bytesAcked + ev.bytesReceived;
    var before = S.prevBytes.has(ev.id) ? S.prevBytes.get(ev.id) : total;
    S.prevBytes.set(ev.id, total);
    if (!auto || ev.state !== "ESTAB") return;
    var cur = S.selected === null ? null : S.conns.get(S.selected);
    if (cur && cur.state !== "CLOSED" && cur.state !== "TIME-WAIT") return;
    if (total - before > 20000) select(ev.id);
  }

  function log(kind, text, t) {
    var li = document.createElement("li");
    li.className = "k-" + kind;
    li.textContent = (t !== undefined ? (t / 1000).toFixed(3) + "  " : "") + text;
    var l = $("log"); l.insertBefore(li, l.firstChild);
    while (l.childNodes.length > 120) l.removeChild(l.lastChild);
  }

  function connectMain() {
    if (transport === "ws") {
      var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + withToken(WSPATH);
      ws = new WebSocket(url);
      ws.onopen = function () { setStatus("live over WebSocket"); if (S.selected !== null) ws.send(JSON.stringify({ follow: S.selected })); };
      ws.onmessage = function (m) { var msg = JSON.parse(m.data); var f = msg.feed === "follow"; for (var i = 0; i < msg.events.length; i++) onEvent(msg.events[i], f); };
      ws.onclose = function () { setStatus("WebSocket closed; reconnecting", true); ws = null; setTimeout(connectMain, 2000); };
      return;
    }
    main = new EventSource(withToken(FEED));
    main.onopen = function () { setStatus("live over SSE"); };
    main.onmessage = function (m) { onEvent(JSON.parse(m.data), false); };
    main.onerror = function () { setStatus("SSE disconnected; retrying", true); };
  }
  function closeAll() {
    if (main) { main.close(); main = null; }
    if (follow) { follow.close(); follow = null; }
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
  }

  function select(id) {
    if (S.selected === id) return;
    S.selected = id; S.segs = []; S.samples = []; S.marks = [];
    $("conn-title").textContent = "#" + id;
    if (follow) { follow.close(); follow = null; }
    if (transport === "ws") { if (ws && ws.readyState === 1) ws.send(JSON.stringify({ follow: id })); }
    else {
      follow = new EventSource(withToken(FEED + "?conn=" + id));
      follow.onmessage = function (m) { onEvent(JSON.parse(m.data), true); };
      follow.onerror = function () { if (follow && follow.readyState === 2) log("error", "connection #" + id + " is gone (the feed answered 404)"); };
    }
    S.dirty = true;
  }

  function refreshSnapshot() {
    fetch(withToken(SNAP), { cache: "no-store" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (j) {
      if (!j) return;
      var m = new Map(); j.conns.forEach(function (r) { m.set(r.id, r); });
      S.conns = m;
      var lm = new Map(); j.listeners.forEach(function (l) { lm.set(l.local, l); }); S.listeners = lm;
      S.dirty = true;
    }).catch(function () {});
  }

  // ------------------------------------------------------------ rendering
  var KEY_COUNTERS = ["Ip InReceives", "Ip InDelivers", "Ip OutRequests", "Ip ReasmOKs", "Ip ReasmFails", "Icmp InEchos", "Icmp OutEchoReps",
    "Udp InDatagrams", "Udp OutDatagrams", "Tcp ActiveOpens", "Tcp PassiveOpens", "Tcp CurrEstab", "Tcp InSegs", "Tcp OutSegs", "Tcp RetransSegs",
    "Tcp OutRsts", "Tcp AttemptFails", "Tcp EstabResets", "TcpExt SyncookiesSent", "TcpExt SyncookiesRecv", "TcpExt SyncookiesFailed",
    "TcpExt ListenOverflows", "TcpExt ListenDrops", "TcpExt TCPTimeouts", "TcpExt TCPFastRetrans"];
  function renderCounters() {
    var c = S.counters; if (!c) return;
    var rows = ["<tr><th class=l>counter</th><th>value</th><th>/s</th></tr>"];
    var shown = {};
    KEY_COUNTERS.concat(Object.keys(c).filter(function (k) { return c[k] !== 0 && k.indexOf("drop ") !== 0; })).forEach(function (k) {
      if (shown[k] || c[k] === undefined) return; shown[k] = 1;
      var r = S.rates[k];
      rows.push("<tr><td>" + k + "</td><td>" + c[k] + "</td><td>" + (r === undefined ? "" : fmtNum(r)) + "</td></tr>");
    });
    $("counters").innerHTML = rows.join("");
    var d = ["<tr><th class=l>reason</th><th>total</th><th>/s</th></tr>"];
    Object.keys(c).filter(function (k) { return k.indexOf("drop ") === 0; }).sort(function (a, b) { return c[b] - c[a]; }).forEach(function (k) {
      d.push("<tr><td class=l>" + k.slice(5) + "</td><td>" + c[k] + "</td><td>" + fmtNum(S.rates[k] || 0) + "</td></tr>");
    });
    $("drops").innerHTML = d.length > 1 ? d.join("") : "<tr><td class='l muted'>no drops</td></tr>";
    lineChart($("rate-chart"), [
      { name: "in seg/s", color: "#88c0d0", pts: S.rateHist.map(function (p) { return [p[0], p[1]]; }) },
      { name: "out seg/s", color: "#a3be8c", pts: S.rateHist.map(function (p) { return [p[0], p[2]]; }) },
      { name: "retrans/s", color: "#bf616a", pts: S.rateHist.map(function (p) { return [p[0], p[3]]; }) }
    ], fmtNum, 110);
  }

  function renderListeners() {
    var box = $("listeners"); box.textContent = "";
    if (S.listeners.size === 0) { box.innerHTML = "<p class=muted>no listeners</p>"; return; }
    var cookies = S.rates["TcpExt SyncookiesSent"] || 0, drops = S.rates["TcpExt ListenDrops"] || 0;
    S.listeners.forEach(function (l, key) {
      var g = document.createElement("div"); g.className = "gauge";
      var b = Math.max(1, l.backlog);
      function bar(label, v) {
        var hot = v >= b ? " hot" : "";
        return "<div class='bar" + hot + "'><i style='width:" + Math.min(100, 100 * v / b).toFixed(1) + "%'></i><span>" + label + " " + v + " / " + l.backlog + "</span></div>";
      }
      g.innerHTML = "<b>" + key + "</b>" + bar("SYN queue", l.synQ) + bar("accept queue", l.acceptQ);
      box.appendChild(g);
      var svg = document.createElementNS(NS, "svg"); svg.setAttribute("class", "lq");
      g.appendChild(svg);
      var h = S.lhist.get(key) || [];
      lineChart(svg, [
        { name: "SYN-Q", color: "#ebcb8b", pts: h.map(function (p) { return [p[0], p[1]]; }) },
        { name: "accept-Q", color: "#88c0d0", pts: h.map(function (p) { return [p[0], p[2]]; }) },
        { name: "backlog", color: "#4c566a", pts: h.length ? [[h[0][0], b], [h[h.length - 1][0], b]] : [] }
      ], fmtNum, 70);
    });
    var p = document.createElement("p"); p.className = "muted";
    p.textContent = "SYN cookies sent " + fmtNum(cookies) + "/s, listen drops " + fmtNum(drops) + "/s";
    box.appendChild(p);
  }

  function renderSockets() {
    var rows = Array.from(S.conns.values()).sort(function (a, b) { return a.id - b.id; });
    var html = [];
    for (var i = 0; i < rows.length && i < 400; i++) {
      var r = rows[i], mss = Math.max(1, r.mss || 1);
      html.push("<tr data-id='" + r.id + "'" + (r.id === S.selected ? " class=sel" : "") + "><td>" + r.id + "</td><td class='l st-" + r.state + "'>" + r.state +
        "</td><td>" + r.recvQ + "</td><td>" + r.sendQ + "</td><td class=l>" + r.local + "</td><td class=l>" + r.peer +
        "</td><td>" + Math.round(r.cwnd / mss) + "</td><td>" + (r.ssthresh < 0 ? "-" : Math.round(r.ssthresh / mss)) +
        "</td><td>" + r.srtt + "/" + r.rttvar + "</td><td>" + r.rto + "</td><td>" + r.retrans +
        "</td><td>" + r.bytesAcked + "</td><td>" + r.bytesReceived + "</td></tr>");
    }
    if (rows.length > 400) html.push("<tr><td colspan=13 class='l muted'>" + (rows.length - 400) + " more</td></tr>");
    if (rows.length === 0) html.push("<tr><td colspan=13 class='l muted'>no TCP connections</td></tr>");
    $("sockets-body").innerHTML = html.join("");
    $("sock-count").textContent = rows.length + " connections";
  }

  /** Generic time chart: series of [t, v]. */
  function lineChart(svg, series, fmt, height, marks) {
    var W = Math.max(200, svg.clientWidth || 300), H = height || 150, L = 46, R = 6, T = 14, B = 16;
    svg.setAttribute("viewBox", "0 0 " + W + " " + H); svg.setAttribute("height", H);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var t0 = Infinity, t1 = -Infinity, v1 = 0;
    series.forEach(function (s) { s.pts.forEach(function (p) { if (p[0] < t0) t0 = p[0]; if (p[0] > t1) t1 = p[0]; if (p[1] > v1) v1 = p[1]; }); });
    svg.appendChild(el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, "class": "ax" }));
    svg.appendChild(el("line", { x1: L, y1: T, x2: L, y2: H - B, "class": "ax" }));
    if (!(t1 > t0)) { svg.appendChild(el("text", { x: L + 6, y: H / 2 }, "waiting for samples")); return; }
    if (v1 <= 0) v1 = 1;
    var x = function (t) { return L + (t - t0) / (t1 - t0) * (W - L - R); };
    var y = function (v) { return H - B - v / v1 * (H - T - B); };
    svg.appendChild(el("text", { x: 2, y: T + 4 }, fmt(v1)));
    svg.appendChild(el("text", { x: 2, y: H - B }, "0"));
    svg.appendChild(el("text", { x: W - R - 40, y: H - 3 }, ((t1 - t0) / 1000).toFixed(1) + " s"));
    // Annotations (the cwnd chart): a dashed vertical line per cwnd event, its cause above it.
    cwndMarksInRange(marks || [], t0, t1, 60).forEach(function (m) {
      var st = cwndMarkStyle(m.cause), mx = x(m.t).toFixed(1);
      svg.appendChild(el("line", { x1: mx, y1: T, x2: mx, y2: H - B, stroke: st.color, "stroke-dasharray": "3 2", "class": "cwnd-mark" }));
      var lt = el("text", { x: +mx + 2, y: T + 10, "class": "cwnd-mark-label" }, st.label); lt.style.fill = st.color; svg.appendChild(lt);
    });
    var lx = L + 4;
    series.forEach(function (s) {
      if (s.pts.length === 0) return;
      var d = "";
      s.pts.forEach(function (p, i) { d += (i ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1); });
      svg.appendChild(el("path", { d: d, fill: "none", stroke: s.color, "stroke-width": 1.5, "class": "series" }));
      var tx = el("text", { x: lx, y: T - 3, fill: s.color }, s.name); tx.style.fill = s.color; svg.appendChild(tx);
      lx += s.name.length * 6.5 + 10;
    });
  }

  function renderConn() {
    var id = S.selected, row = id === null ? null : S.conns.get(id);
    if (id === null) { $("conn-title").textContent = "none selected (click a row, or start a transfer)"; }
    else $("conn-title").textContent = "#" + id + (row ? "  " + row.local + " \u21c4 " + row.peer + "  " + row.state + "  cc " + (row.cc || "") + "  retrans " + row.retrans : "  (closed)");
    var sm = S.samples;
    lineChart($("cwnd-chart"), [
      { name: "cwnd", color: "#88c0d0", pts: sm.map(function (s) { return [s.t, s.cwnd]; }) },
      { name: "ssthresh", color: "#d08770", pts: sm.filter(function (s) { return s.ssthresh >= 0 && s.ssthresh < 4 * Math.max(1, s.cwnd) + 1e6; }).map(function (s) { return [s.t, s.ssthresh]; }) }
    ], fmtBytes, undefined, S.marks);
    lineChart($("rwnd-chart"), [
      { name: "peer rwnd", color: "#a3be8c", pts: sm.map(function (s) { return [s.t, s.rwnd]; }) },
      { name: "our rcv wnd", color: "#b48ead", pts: sm.map(function (s) { return [s.t, s.rcvWnd]; }) },
      { name: "in flight", color: "#ebcb8b", pts: sm.map(function (s) { return [s.t, s.flight]; }) }
    ], fmtBytes);
    lineChart($("rtt-chart"), [
      { name: "srtt", color: "#88c0d0", pts: sm.map(function (s) { return [s.t, s.srtt]; }) },
      { name: "rto", color: "#d08770", pts: sm.map(function (s) { return [s.t, s.rto]; }) }
    ], function (v) { return v.toFixed(v < 10 ? 2 : 0) + "ms"; });
    renderTimeSeq(row);
    renderLadder(row);
  }

  /** tcptrace-style time-sequence graph: data segments as vertical bars, the ACK line, the window line; retransmissions in red. */
  function renderTimeSeq(row) {
    var svg = $("tseq");
    var W = Math.max(300, svg.clientWidth || 600), H = 260, L = 64, R = 8, T = 16, B = 18;
    svg.setAttribute("viewBox", "0 0 " + W + " " + H); svg.setAttribute("height", H);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.appendChild(el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, "class": "ax" }));
    svg.appendChild(el("line", { x1: L, y1: T, x2: L, y2: H - B, "class": "ax" }));
    var segs = S.segs;
    if (!row || segs.length === 0) { svg.appendChild(el("text", { x: L + 8, y: H / 2 }, row ? "waiting for segments" : "no connection selected")); return; }
    var sender = row.bytesSent >= row.bytesReceived;
    var base = sender ? row.iss : row.irs;
    var data = [], acks = [];
    for (var i = 0; i < segs.length; i++) {
      var s = segs[i];
      if (s.out === sender && (s.len > 0 || (s.flags & 3))) data.push(s);
      else if (s.out !== sender && (s.flags & 16)) acks.push(s);
    }
    var rel = function (q) { return (q - base) >>> 0; };
    var t0 = segs[0].t, t1 = segs[segs.length - 1].t, lo = Infinity, hi = -Infinity;
    data.forEach(function (s) { var a = rel(s.seq); if (a < lo) lo = a; if (a + s.len > hi) hi = a + s.len; });
    acks.forEach(function (s) { var a = rel(s.ack); if (a < lo) lo = a; if (a > hi) hi = a; });
    var win = S.samples.filter(function (s) { return s.t >= t0; }).map(function (s) {
      return [s.t, sender ? rel(s.sndUna) + s.rwnd : rel(s.rcvNxt) + s.rcvWnd];
    });
    win.forEach(function (p) { if (p[1] > hi) hi = p[1]; });
    if (!(hi > lo)) { hi = lo + 1; }
    if (!(t1 > t0)) t1 = t0 + 1;
    var x = function (t) { return L + (t - t0) / (t1 - t0) * (W - L - R); };
    var y = function (v) { return H - B - (v - lo) / (hi - lo) * (H - T - B); };
    var dn = "", dr = "";
    data.forEach(function (s) {
      var a = rel(s.seq), px = x(s.t).toFixed(1), e = a + Math.max(s.len, 1);
      var seg = "M" + px + " " + y(a).toFixed(1) + "V" + y(e).toFixed(1) + "M" + (px - 2) + " " + y(e).toFixed(1) + "h4";
      if (s.rtx) dr += seg; else dn += seg;
    });
    var da = "";
    acks.forEach(function (s, j) { da += (j ? "H" + x(s.t).toFixed(1) + "V" : "M" + x(s.t).toFixed(1) + " ") + y(rel(s.ack)).toFixed(1); });
    var dw = "";
    win.forEach(function (p, j) { dw += (j ? "H" + x(p[0]).toFixed(1) + "V" : "M" + x(p[0]).toFixed(1) + " ") + y(p[1]).toFixed(1); });
    svg.appendChild(el("path", { d: dw, fill: "none", stroke: "#ebcb8b", "stroke-width": 1, "class": "win" }));
    svg.appendChild(el("path", { d: da, fill: "none", stroke: "#a3be8c", "stroke-width": 1.2, "class": "ack" }));
    svg.appendChild(el("path", { d: dn, fill: "none", stroke: "#88c0d0", "stroke-width": 1, "class": "data" }));
    svg.appendChild(el("path", { d: dr, fill: "none", stroke: "#bf616a", "stroke-width": 2, "class": "rtx" }));
    var nr = 0;
    data.forEach(function (s) { if (s.rtx && nr++ < 200) svg.appendChild(el("text", { x: x(s.t) + 3, y: y(rel(s.seq)) - 2, "class": "rtxmark", fill: "#bf616a" }, "R")); });
    svg.appendChild(el("text", { x: 2, y: T + 4 }, fmtBytes(hi)));
    svg.appendChild(el("text", { x: 2, y: H - B }, fmtBytes(lo)));
    svg.appendChild(el("text", { x: W - R - 60, y: H - 4 }, ((t1 - t0) / 1000).toFixed(2) + " s"));
    var lg = el("text", { x: L + 6, y: T - 4 }, (sender ? "stack sends" : "stack receives") + ": data (blue), retransmitted (red R), ACKs (green), window (yellow) \u2014 seq relative to the ISN");
    svg.appendChild(lg);
  }

  /** The last N segments as a ladder: the stack on the left, the peer on the right. */
  function renderLadder(row) {
    var svg = $("ladder");
    var N = 24, segs = S.segs.slice(-N);
    var W = Math.max(500, svg.clientWidth || 800), RH = 20, T = 30, H = T + Math.max(N, segs.length) * RH + 10;
    svg.setAttribute("viewBox", "0 0 " + W + " " + H); svg.setAttribute("height", H);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var LX = 150, RX = W - 150;
    var left = row ? "stack " + row.local : "stack", right = row ? "peer " + row.peer : "peer";
    svg.appendChild(el("text", { x: LX - 60, y: 14, "class": "end" }, left));
    svg.appendChild(el("text", { x: RX - 60, y: 14, "class": "end" }, right));
    svg.appendChild(el("line", { x1: LX, y1: 20, x2: LX, y2: H - 4, stroke: "#5e81ac", "stroke-width": 2 }));
    svg.appendChild(el("line", { x1: RX, y1: 20, x2: RX, y2: H - 4, stroke: "#5e81ac", "stroke-width": 2 }));
    if (segs.length === 0) { svg.appendChild(el("text", { x: LX + 20, y: T + 20 }, "no segments yet")); return; }
    var t0 = segs[0].t;
    segs.forEach(function (s, i) {
      var y0 = T + i * RH, y1 = y0 + RH - 6;
      var base = s.out ? (row ? row.iss : 0) : (row ? row.irs : 0), abase = s.out ? (row ? row.irs : 0) : (row ? row.iss : 0);
      var color = s.rtx ? "#bf616a" : (s.flags & 4) ? "#d08770" : (s.flags & 3) ? "#ebcb8b" : s.len > 0 ? "#88c0d0" : "#a3be8c";
      var xa = s.out ? LX : RX, xb = s.out ? RX : LX;
      svg.appendChild(el("line", { x1: xa, y1: y0, x2: xb, y2: y1, stroke: color, "stroke-width": 1.3, "class": "arrow" }));
      var dir = s.out ? -1 : 1;
      svg.appendChild(el("path", { d: "M" + xb + " " + y1 + "l" + (dir * 7) + " -5l0 6z", fill: color }));
      var label = (s.rtx ? "RETRANS " : "") + flagStr(s.flags) + " seq " + ((s.seq - base) >>> 0) + (s.flags & 16 ? " ack " + ((s.ack - abase) >>> 0) : "") + " len " + s.len + " win " + s.win;
      var tx = el("text", { x: (LX + RX) / 2 - label.length * 3, y: (y0 + y1) / 2 - 2 }, label); tx.style.fill = color; svg.appendChild(tx);
      if (s.note) { var nt = el("text", { x: RX + 6, y: y0 + 8, "class": "note" }, s.note); nt.style.fill = "#b48ead"; svg.appendChild(nt); }
      svg.appendChild(el("text", { x: 4, y: y0 + 8 }, "+" + ((s.t - t0)).toFixed(3) + " ms"));
    });
  }

  function render() {
    if (!S.dirty) return;
    S.dirty = false;
    renderCounters(); renderListeners(); renderSockets(); renderConn();
    var now = Date.now();
    S.evWindow.push([now, S.events]);
    while (S.evWindow.length > 2 && now - S.evWindow[0][0] > 2000) S.evWindow.shift();
    var w = S.evWindow, rate = w.length > 1 ? (w[w.length - 1][1] - w[0][1]) / Math.max(0.001, (w[w.length - 1][0] - w[0][0]) / 1000) : 0;
    $("evrate").textContent = S.events + " events (" + rate.toFixed(0) + "/s)";
  }

  $("sockets-body").addEventListener("click", function (e) {
    var tr = e.target.closest("tr"); if (!tr || !tr.dataset.id) return;
    auto = false; select(Number(tr.dataset.id));
  });
  function setTransport(t) {
    if (t === transport && (main || ws)) return;
    closeAll(); transport = t;
    $("tp-sse").className = t === "sse" ? "on" : ""; $("tp-ws").className = t === "ws" ? "on" : "";
    var sel = S.selected; S.selected = null;
    connectMain(); if (sel !== null) select(sel);
  }
  $("tp-sse").onclick = function () { setTransport("sse"); };
  $("tp-ws").onclick = function () { setTransport("ws"); };
  $("tp-sse").className = transport === "sse" ? "on" : ""; $("tp-ws").className = transport === "ws" ? "on" : "";
  connectMain();
  setInterval(render, 300);
  setInterval(refreshSnapshot, 3000);
  window.tunstackDashboard = S;
})();
`;

const SCRIPT_WITH_MARKS = SCRIPT.replace(SCRIPT_WITH_MARKS_PLACEHOLDER, `${cwndMarkStyle.toString()}\n  ${cwndMarksInRange.toString()}`);


export function dashboardPage(o: PageOptions): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>tunstack observatory — ${esc(o.address)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>tunstack observatory</h1><span>stack ${esc(o.address)}, samples every ${o.sampleMs} ms</span>
<span id="status">connecting…</span><span id="evrate" class="muted"></span>
<span>feed: <button id="tp-sse" type="button" title="Server-Sent Events from &quot;/_stack/events&quot;">SSE</button> <button id="tp-ws" type="button" title="WebSocket on /_stack/ws">WebSocket</button></span></header>
<main>
<section id="counters-panel"><h2>Counters <small>with rates per second</small></h2>
<svg id="rate-chart" aria-label="segments per second"></svg>
<table id="counters"></table><h3>Drops by reason</h3><table id="drops"></table></section>
<section id="listeners-panel"><h2>Listeners <small>SYN queue and accept queue against the backlog</small></h2><div id="listeners"></div></section>
<section id="log-panel"><h2>Events <small>state changes, retransmissions, SYN cookies, drops, reassembly</small></h2><ol id="log"></ol></section>
<section id="sockets-panel" class="wide"><h2>Sockets <small>like ss -tani; click a row to follow it — <span id="sock-count"></span></small></h2>
<table id="sockets"><thead><tr><th>id</th><th class=l>State</th><th>Recv-Q</th><th>Send-Q</th><th class=l>Local Address:Port</th><th class=l>Peer Address:Port</th><th>cwnd</th><th>ssthresh</th><th>rtt/var ms</th><th>rto</th><th>retrans</th><th>bytes_acked</th><th>bytes_received</th></tr></thead>
<tbody id="sockets-body"></tbody></table></section>
<section id="conn-panel" class="wide"><h2>Connection <small id="conn-title">none selected</small></h2>
<div class="charts">
<figure><figcaption>time-sequence (like tcptrace)</figcaption><svg id="tseq"></svg></figure>
<figure><figcaption>cwnd / ssthresh</figcaption><svg id="cwnd-chart"></svg></figure>
<figure><figcaption>windows and bytes in flight</figcaption><svg id="rwnd-chart"></svg></figure>
<figure><figcaption>srtt / rto</figcaption><svg id="rtt-chart"></svg></figure>
</div>
<figure><figcaption>ladder: the last 24 segments (time since the first shown, flags, relative seq/ack, length, window)</figcaption><svg id="ladder"></svg></figure>
</section>
</main>
<script>${SCRIPT_WITH_MARKS}</script>
</body></html>
`;
}
