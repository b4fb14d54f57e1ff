// arbcast admin dashboard: polls the reports' JSON and redraws tables, figures and charts.
// No dependencies; charts are inline SVG; every value is set with textContent (no HTML).
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const body = document.body;
  let api = body.dataset.api;
  const refreshMs = Math.max(500, 1000 * (parseFloat(body.dataset.refresh) || 5));
  let updates = 0;
  let timer = null;
  const WINDOW_PARAMS = ["range", "since", "until"];

  function fmt(v) {
    if (v === null || v === undefined) return "\u2014";
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(2);
    return String(v);
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // Rows of a report as objects keyed by column name.
  function records(report) {
    if (!report) return [];
    return report.rows.map((r) => {
      const o = {};
      report.columns.forEach((c, i) => { o[c] = r[i]; });
      return o;
    });
  }

  function renderTable(name, report) {
    const table = document.querySelector(`table[data-report="${name}"]`);
    if (!table) return;
    const head = el("tr");
    for (const c of report.columns) head.appendChild(el("th", { scope: "col" }, c));
    const tbody = el("tbody");
    for (const row of report.rows) {
      const tr = el("tr");
      report.columns.forEach((c, i) => {
        const v = row[i];
        const td = el("td", { "data-col": c, "data-value": JSON.stringify(v) }, fmt(v));
        if (typeof v === "number") td.className = "num";
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    }
    table.tHead.replaceChildren(head);
    table.tBodies[0].replaceWith(tbody);
    const wrap = table.parentElement;
    let empty = wrap.querySelector(".empty");
    if (report.rows.length === 0 && !empty) {
      empty = el("p", { class: "empty", "data-empty": name }, "No data in this window yet.");
      wrap.appendChild(empty);
    } else if (report.rows.length > 0 && empty) {
      empty.remove();
    }
  }

  // Horizontal bars: one row per item, label on the left, value on the right.
  function hbars(name, items, max) {
    const box = document.querySelector(`[data-chart="${name}"]`);
    if (!box) return;
    if (items.length === 0) {
      box.replaceChildren(el("p", { class: "empty" }, "No data yet."));
      return;
    }
    const W = 480, labelW = 150, valueW = 70, rowH = 22;
    const top = max || Math.max(...items.map((i) => i.value || 0), 1);
    const s = svg("svg", { viewBox: `0 0 ${W} ${items.length * rowH + 4}`, role: "img",
                           class: "hbars", "data-items": items.length });
    items.forEach((it, k) => {
      const y = k * rowH + 2;
      const w = Math.max(0, ((it.value || 0) / top) * (W - labelW - valueW));
      const g = svg("g", { "data-label": it.label, "data-value": JSON.stringify(it.value) });
      g.appendChild(svg("title", {}, `${it.label}: ${fmt(it.value)}`));
      g.appendChild(svg("text", { x: labelW - 6, y: y + 15, class: "label", "text-anchor": "end" },
                        it.label));
      g.appendChild(svg("rect", { x: labelW, y: y + 3, width: w.toFixed(1), height: rowH - 6,
                                  rx: 3, class: "bar" + (it.cls ? " " + it.cls : "") }));
      g.appendChild(svg("text", { x: labelW + w + 5, y: y + 15, class: "value" }, fmt(it.value)));
      s.appendChild(g);
    });
    box.replaceChildren(s);
  }

  // Vertical bars over time (DAU per day), with a label every few bars.
  function vbars(name, items) {
    const box = document.querySelector(`[data-chart="${name}"]`);
    if (!box) return;
    if (items.length === 0) {
      box.replaceChildren(el("p", { class: "empty" }, "No data yet."));
      return;
    }
    const W = 480, H = 180, bottom = 22, topPad = 16;
    const top = Math.max(...items.map((i) => i.value || 0), 1);
    const slot = W / items.length;
    const every = Math.ceil(items.length / 8);
    const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "vbars",
                           "data-items": items.length });
    s.appendChild(svg("line", { x1: 0, y1: H - bottom, x2: W, y2: H - bottom, class: "axis" }));
    items.forEach((it, k) => {
      const h = ((it.value || 0) / top) * (H - bottom - topPad);
      const x = k * slot + slot * 0.15;
      const g = svg("g", { "data-label": it.label, "data-value": JSON.stringify(it.value) });
      g.appendChild(svg("title", {}, `${it.label}: ${fmt(it.value)}`));
      g.appendChild(svg("rect", { x: x.toFixed(1), y: (H - bottom - h).toFixed(1),
                                  width: (slot * 0.7).toFixed(1), height: h.toFixed(1),
                                  rx: 2, class: "bar" }));
      if (items.length <= 16) {
        g.appendChild(svg("text", { x: (x + slot * 0.35).toFixed(1), y: (H - bottom - h - 3).toFixed(1),
                                    class: "value", "text-anchor": "middle" }, fmt(it.value)));
      }
      if (k % every === 0) {
        g.appendChild(svg("text", { x: (x + slot * 0.35).toFixed(1), y: H - 6, class: "label",
                                    "text-anchor": "middle" }, String(it.label).slice(5)));
      }
      s.appendChild(g);
    });
    box.replaceChildren(s);
  }

  // Time on the x axis: "HH:MM" within a day, "MM-DD HH:MM" across days (UTC).
  function timeLabel(iso, span) {
    const d = new Date(iso);
    const hm = d.toISOString().slice(11, 16);
    return span > 86400e3 ? `${d.toISOString().slice(5, 10)} ${hm}` : hm;
  }

  // An axis figure, short: 1.5k, 57, 0.47.
  function tick(v) {
    if (v >= 1000) return `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)}k`;
    if (v >= 10 || Number.isInteger(v)) return String(Math.round(v));
    return v.toFixed(2);
  }

  // Lines over time: one polyline per series, an optional dashed limit line, a legend.
  function lines(name, xs, series, opts) {
    const box = document.querySelector(`[data-chart="${name}"]`);
    if (!box) return;
    const n = xs.length;
    if (n === 0) {
      box.replaceChildren(el("p", { class: "empty" }, "No data in this range."));
      return;
    }
    const W = 600, H = 210, left = 46, right = 10, topPad = 24, bottom = 22;
    const all = series.flatMap((s) => s.values.filter((v) => typeof v === "number"));
    let top = Math.max(...all, opts.limit || 0, 1);
    top = top * 1.08;
    const x = (k) => left + (n === 1 ? 0 : (k / (n - 1)) * (W - left - right));
    const y = (v) => H - bottom - (v / top) * (H - bottom - topPad);
    const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "lines",
                           "data-points": n });
    s.appendChild(svg("line", { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom,
                                class: "axis" }));
    for (const frac of [0, 0.5, 1]) {
      const v = (top / 1.08) * frac;
      s.appendChild(svg("line", { x1: left, y1: y(v), x2: W - right, y2: y(v), class: "grid" }));
      s.appendChild(svg("text", { x: left - 5, y: y(v) + 4, class: "label", "text-anchor": "end" },
                        tick(v)));
    }
    const span = n > 1 ? new Date(xs[n - 1]) - new Date(xs[0]) : 0;
    const ticks = [...new Set([0, 1, 2, 3, 4].map((i) => Math.round((i * (n - 1)) / 4)))];
    for (const k of ticks) {
      s.appendChild(svg("text", { x: x(k), y: H - 6, class: "label",
                                  "text-anchor": k === 0 ? "start" : k === n - 1 ? "end" : "middle" },
                        timeLabel(xs[k], span)));
    }
    if (opts.limit) {
      const g = svg("g", { "data-limit": JSON.stringify(opts.limit) });
      g.appendChild(svg("line", { x1: left, y1: y(opts.limit), x2: W - right, y2: y(opts.limit),
                                  class: "limit" }));
      g.appendChild(svg("text", { x: W - right, y: y(opts.limit) - 4, class: "limit-label",
                                  "text-anchor": "end" }, `limit ${fmt(opts.limit)}/s`));
      s.appendChild(g);
    }
    let lx = left + 4;
    series.forEach((ser, i) => {
      const pts = [];
      ser.values.forEach((v, k) => {
        if (typeof v === "number") pts.push(`${x(k).toFixed(1)},${y(v).toFixed(1)}`);
      });
      const g = svg("g", { "data-series": ser.key, "data-values": JSON.stringify(ser.values) });
      g.appendChild(svg("title", {}, ser.label));
      if (pts.length === 1) {
        const [px, py] = pts[0].split(",");
        g.appendChild(svg("circle", { cx: px, cy: py, r: 3, class: `dot s${i}` }));
      } else if (pts.length > 1) {
        g.appendChild(svg("polyline", { points: pts.join(" "), class: `line s${i}` }));
      }
      g.appendChild(svg("rect", { x: lx, y: 4, width: 10, height: 10, class: `key s${i}` }));
      g.appendChild(svg("text", { x: lx + 14, y: 13, class: "legend" }, ser.label));
      lx += 26 + 6.2 * ser.label.length;
      s.appendChild(g);
    });
    box.replaceChildren(s);
  }

  function renderTimeseries(ts) {
    const meta = document.getElementById("timeseries-meta");
    if (!ts) {
      if (meta) meta.textContent = "time series unavailable";
      return;
    }
    const rows = records(ts);
    const xs = rows.map((r) => r.bucket);
    const col = (c) => rows.map((r) => r[c]);
    const per = ts.bucket_seconds >= 3600 ? `${ts.bucket_seconds / 3600} h` : `${ts.bucket_seconds / 60} min`;
    lines("sends", xs, [
      { key: "sends_per_s", label: "sends/s (average)", values: col("sends_per_s") },
      { key: "peak_1s", label: "busiest second", values: col("peak_1s") },
    ], { limit: ts.send_limit_per_second });
    lines("flood", xs, [{ key: "flood_429", label: `429s per ${per}`, values: col("flood_429") }], {});
    lines("backlog", xs, [{ key: "backlog", label: "messages waiting", values: col("backlog") }], {});
    lines("latency_series", xs, [
      { key: "latency_p50_ms", label: "p50", values: col("latency_p50_ms") },
      { key: "latency_p95_ms", label: "p95", values: col("latency_p95_ms") },
      { key: "latency_p99_ms", label: "p99", values: col("latency_p99_ms") },
    ], {});
    if (meta) {
      const rd = ts.read || {};
      meta.dataset.grain = ts.grain;
      meta.dataset.rollupRows = String(rd.rollup_rows || 0);
      meta.textContent = `Time series: ${rows.length} buckets of ${per}` +
        (ts.since ? ` from ${ts.since} to ${ts.until}` : "") +
        ` · read ${rd.rollup_rows || 0} rollup rows from ${rd.rollup_files || 0} files` +
        ((rd.raw_hours || []).length ? `, ${rd.raw_rows} raw rows of ${rd.raw_hours.length} open hours` : "") +
        ` in ${fmt(ts.took_ms)} ms`;
    }
  }

  // The range control: the window lives in the page's URL (so a reload or a shared link keeps
  // it) and in the API URL the page polls.
  function applyWindow(params) {
    const url = new URL(location.href);
    const apiUrl = new URL(api, location.href);
    for (const k of WINDOW_PARAMS) {
      url.searchParams.delete(k);
      apiUrl.searchParams.delete(k);
      if (params[k]) {
        url.searchParams.set(k, params[k]);
        apiUrl.searchParams.set(k, params[k]);
      }
    }
    history.replaceState(null, "", url.pathname + url.search);
    api = apiUrl.pathname + apiUrl.search;
    markRange();
    const w = document.getElementById("window");
    if (w) {
      w.textContent = params.range ? `last ${params.range}`
        : params.since || params.until ? `${params.since || "the beginning"} → ${params.until || "now"}`
        : "all time";
    }
    if (timer !== null) clearTimeout(timer);
    poll();
  }

  function markRange() {
    const q = new URLSearchParams(location.search);
    const current = q.get("range") || (q.get("since") || q.get("until") ? "custom" : "");
    for (const b of document.querySelectorAll("#range button[data-range]")) {
      b.setAttribute("aria-pressed", String(b.dataset.range === current));
    }
  }

  function asUtc(v) {
    return v ? `${v.length === 16 ? v + ":00" : v}+00:00` : "";
  }

  for (const b of document.querySelectorAll("#range button[data-range]")) {
    b.addEventListener("click", () => {
      const r = b.dataset.range;
      if (r === "custom") {
        applyWindow({ since: asUtc(document.getElementById("range-since").value),
                      until: asUtc(document.getElementById("range-until").value) });
      } else {
        applyWindow(r ? { range: r } : {});
      }
    });
  }

  function sum(rows, col) {
    return rows.reduce((a, r) => a + (typeof r[col] === "number" ? r[col] : 0), 0);
  }

  function setKpi(name, v) {
    const e = document.querySelector(`[data-kpi="${name}"]`);
    if (!e) return;
    e.textContent = fmt(v);
    e.dataset.value = JSON.stringify(v === undefined ? null : v);
  }

  function render(p) {
    const R = p.reports || {};
    for (const [name, report] of Object.entries(R)) renderTable(name, report);
    for (const e of document.querySelectorAll("[data-error]")) {
      const msg = (p.errors || {})[e.dataset.error];
      e.textContent = msg || "";
      e.hidden = !msg;
    }

    const sessions = records(R.sessions);
    const last = sessions.length ? sessions[sessions.length - 1] : null;
    setKpi("dau", last ? last.dau : null);
    setKpi("wau", last ? last.wau : null);
    setKpi("new_users", sum(sessions, "new_users"));
    setKpi("sessions_started", sum(sessions, "sessions_started"));

    const dist = records(R.distribution);
    const pick = (metric) => dist.filter((r) => r.metric === metric);
    const value = (metric, key) => {
      const r = dist.find((x) => x.metric === metric && x.key === key);
      return r ? r.value : null;
    };
    setKpi("sent", value("count", "sent"));
    setKpi("latency_p50", value("latency_ms", "p50"));
    setKpi("latency_p95", value("latency_ms", "p95"));
    setKpi("latency_p99", value("latency_ms", "p99"));

    const funnel = records(R.onboarding);
    const completed = funnel.find((r) => r.stage === "completed");
    setKpi("onboarding_completed_pct", completed ? completed.pct_of_started : null);

    const val = records(R.validation);
    // The share of candidates that passed the last level: what was published.
    const lastLevel = val.length ? val[val.length - 1] : null;
    setKpi("validation_pass_pct", lastLevel ? lastLevel.passed_pct_of_candidates : null);

    vbars("dau", sessions.map((r) => ({ label: String(r.day), value: r.dau })));
    hbars("onboarding", funnel.map((r) => ({
      label: r.stage, value: r.users,
      cls: r.stage === "abandoned" || r.stage === "skipped" ? "bad" : "",
    })));
    hbars("validation", val.map((r) => ({ label: `level ${r.level}`, value: r.pass_rate_pct })), 100);
    hbars("distribution", pick("count").map((r) => ({
      label: r.key, value: r.value,
      cls: ["failed", "dropped", "rejected"].includes(r.key) ? "bad" : "",
    })));
    hbars("rejected", pick("rejected_by_layer").map((r) => ({ label: `layer ${r.key}`, value: r.value, cls: "bad" })));
    const byKey = (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);  // p50, p95, p99
    hbars("latency", pick("latency_ms").sort(byKey).map((r) => ({ label: r.key, value: r.value })));
    hbars("engagement", records(R.engagement).slice(0, 12).map((r) => ({
      label: `${r.type} · ${r.tier} · ${r.priority}`, value: r.ctr_pct,
    })), 100);
    hbars("tiers", records(R.tiers).map((r) => ({
      label: `${r.tier} (CTR ${fmt(r.ctr_pct)}%)`, value: r.alerts_sent,
    })));
    renderTimeseries(p.timeseries);

    updates += 1;
    const status = document.getElementById("status");
    status.dataset.state = "live";
    status.dataset.updates = String(updates);
    status.dataset.generated = p.generated_at;
    status.textContent = `live \u00b7 computed ${p.generated_at} in ${fmt(p.took_ms)} ms \u00b7 ` +
      `refreshes every ${refreshMs / 1000} s`;
  }

  function fail(message) {
    const status = document.getElementById("status");
    status.dataset.state = "error";
    status.textContent = message;
  }

  async function poll() {
    try {
      const r = await fetch(api, { credentials: "same-origin", cache: "no-store" });
      if (r.status === 401) {
        fail("not authorised: reopen the page with ?token=<admin token>");
      } else if (!r.ok) {
        fail(`could not load the reports (HTTP ${r.status}); retrying`);
      } else {
        render(await r.json());
      }
    } catch (e) {
      fail(`could not load the reports (${e}); retrying`);
    }
    timer = setTimeout(poll, refreshMs);
  }

  poll();
})();
