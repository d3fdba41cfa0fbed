/* ops.js — the ops page: polls /api/ops and updates the figures in place (never a reload).
 * Sparklines keep a bounded history, so the page can stay open on a wall for days.
 */
(function () {
  "use strict";

  const HISTORY = 90;
  const body = document.body;
  const endpoint = body.dataset.endpoint;
  const interval = Number(body.dataset.intervalMs) || 2000;
  const state = document.querySelector('[data-slot="state"]');
  const rolesEl = document.querySelector('[data-slot="roles"]');
  const wardsEl = document.querySelector('[data-slot="wards"]');
  const routesEl = document.querySelector('[data-slot="routes"]');
  const refusedEl = document.querySelector('[data-slot="refused"]');
  const history = new Map();

  const setText = (node, text) => {
    if (node && node.textContent !== text) node.textContent = text;
  };
  const pick = (obj, path) => path.split(".").reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), obj);

  function fmt(value) {
    if (value === null || value === undefined) return "–";
    if (typeof value === "number") {
      if (Number.isInteger(value)) return value.toLocaleString("en-GB");
      return value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
    }
    return String(value);
  }

  function uptime(secs) {
    const s = Math.floor(secs);
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
  }

  /** A polyline over the points so far, scaled to their own range (a flat series draws mid-height). */
  function spark(svg, values) {
    let line = svg.firstElementChild;
    if (!line) {
      line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
      svg.append(line);
    }
    if (values.length < 2) {
      line.setAttribute("points", "");
      return;
    }
    const lo = Math.min(...values);
    const span = Math.max(...values) - lo;
    const step = 120 / (values.length - 1);
    const y = (v) => (span > 0 ? 28 - ((v - lo) / span) * 26 : 15);
    line.setAttribute("points", values.map((v, i) => `${(i * step).toFixed(1)},${y(v).toFixed(1)}`).join(" "));
  }

  /** A table row; a cell is text, or a [text, muted note] pair (a ward's name, then its id). */
  function row(cells) {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      if (Array.isArray(c)) {
        const note = document.createElement("span");
        note.className = "muted";
        note.textContent = c[1];
        td.append(c[0], " ", note);
      } else {
        td.textContent = c;
      }
      tr.append(td);
    }
    return tr;
  }

  function pairs(el, entries, empty) {
    el.replaceChildren(...(entries.length ? entries : [[empty, ""]]).flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = k;
      dd.textContent = typeof v === "number" ? fmt(v) : v;
      return [dt, dd];
    }));
  }

  function render(d) {
    d.event_log_lag_ms = Math.round(d.event_log_lag_secs * 1000 * 100) / 100;
    d.process.rss_mb = Math.round(d.process.rss_bytes / 1048576 * 10) / 10;
    d.uptime = uptime(d.uptime_secs);
    document.querySelectorAll("[data-fig]").forEach((node) => setText(node, fmt(pick(d, node.dataset.fig))));
    document.querySelectorAll("[data-health]").forEach((node) => {
      const h = pick(d, node.dataset.health);
      node.dataset.status = h.status;
      setText(node, h.status === "ok" ? `OK · ${h.ping_ms} ms` : `DOWN · ${h.error}`);
    });
    const roles = Object.entries(d.connections.by_role);
    rolesEl.replaceChildren(...roles.flatMap(([role, n]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = role;
      dd.textContent = fmt(n);
      return [dt, dd];
    }));
    const wards = d.connections.wards;
    wardsEl.replaceChildren(...(wards.length ? wards.map((w) => row([[w.name, w.ward], fmt(w.total),
      Object.entries(w.by_role).map(([r, n]) => `${r} ${n}`).join(", ") || "none", w.offset || "not opened yet"]))
      : [row(["This server has no wards yet.", "", "", ""])]));
    const routes = d.http.routes;
    routesEl.replaceChildren(...(routes.length ? routes.map((r) => row([r.route, fmt(r.requests_per_sec),
      fmt(r.p95_ms), fmt(r.mean_ms), Object.entries(r.by_class).map(([c, n]) => `${c} ${fmt(n)}`).join(", ")]))
      : [row(["No requests in the window yet.", "", "", "", ""])]));
    pairs(refusedEl, Object.entries(d.refused_by_reason), "None since start");
    document.querySelectorAll("[data-spark]").forEach((svg) => {
      const key = svg.dataset.spark;
      const values = history.get(key) || [];
      values.push(Number(pick(d, key)) || 0);
      while (values.length > HISTORY) values.shift();
      history.set(key, values);
      spark(svg, values);
    });
  }

  async function poll() {
    try {
      const r = await fetch(endpoint, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } });
      if (r.status === 401 || r.status === 403) {
        body.dataset.live = "no";
        setText(state, "Signed out: sign in again to see the figures.");
        return;
      }
      const data = await r.json();
      render(data);
      body.dataset.live = "yes";
      const at = new Date(Date.parse(data.at));
      setText(state, `Live · ${at.toLocaleTimeString("en-GB")}`);
    } catch (err) {
      body.dataset.live = "no";
      setText(state, "Not live: the server does not answer. Retrying…");
    }
    window.setTimeout(poll, interval);
  }

  // Times the server rendered (UTC) shown in the viewer's own local time.
  document.querySelectorAll("time[data-local-time]").forEach((node) => {
    const at = new Date(Date.parse(node.getAttribute("datetime")));
    if (!Number.isNaN(at.getTime())) setText(node, at.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }));
  });
  poll();
})();
