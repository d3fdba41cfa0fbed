/* board.js — the wall display of one ward.
 *
 * Starts from the snapshot the server rendered into the page (already filtered for this credential),
 * then follows the ward over live.js. An event re-renders the one tile it names, with a brief
 * highlight; nothing else on the page is touched and the page is never reloaded. Tiles and their
 * listeners are created once per bed and reused, so a board can run for days without growing.
 */
(function () {
  "use strict";

  const F = window.WhiteboardFormat;
  const { LiveWard } = window.WhiteboardLive;
  // Mirrors board.css: a tile's type unit is min(1cqh, 0.62cqw); each bay has a 2.6vh label down its left side.
  const TILE_WIDTH_SHARE = 0.62;
  const LABEL_VH = 0.026;
  // Discharge states worth a word on a crowded tile (the phone spells them out).
  const BOARD_DISCHARGE = { awaiting_tto: "TTO", awaiting_transport: "Transport", ready: "Ready" };
  const body = document.body;
  const ward = body.dataset.ward;
  const clock = new F.ServerClock(body.dataset.serverNow);
  const config = JSON.parse(document.getElementById("wb-config").textContent);
  const initial = JSON.parse(document.getElementById("wb-snapshot").textContent);
  const template = document.getElementById("tile-template");
  const baysEl = document.getElementById("bays");
  const slot = (name) => document.querySelector(`[data-slot="${name}"]`);
  const ui = {
    clock: slot("clock"),
    updated: slot("updated"),
    connText: slot("conn-text"),
    asof: slot("asof"),
    asofBanner: slot("asof-banner"),
    cover: slot("cover"),
    retry: slot("retry"),
  };
  const counts = {};
  document.querySelectorAll("[data-count]").forEach((el) => (counts[el.dataset.count] = el));

  const beds = new Map(); // bed id → bed, in ward order
  const tiles = new Map(); // bed id → { el, s: slots, key, flagsKey }
  let structureKey = "";
  let lastChangeMs = null;

  // --- tiles ------------------------------------------------------------------------------------

  function tileFor(id) {
    let t = tiles.get(id);
    if (t) return t;
    const el = template.content.firstElementChild.cloneNode(true);
    const s = {};
    el.querySelectorAll("[data-slot]").forEach((n) => (s[n.dataset.slot] = n));
    el.addEventListener("animationend", () => el.classList.remove("changed"));
    t = { el, s, key: "", flagsKey: "" };
    tiles.set(id, t);
    return t;
  }

  function renderFlags(t, flags) {
    const key = flags.join(",");
    if (key === t.flagsKey) return;
    t.flagsKey = key;
    const items = flags.map((code) => {
      const li = document.createElement("li");
      const label = config.flagLabels[code];
      li.className = "flag";
      li.dataset.flag = code;
      li.textContent = label ? label[0] : code;
      if (label) li.title = label[1];
      return li;
    });
    t.s.flags.replaceChildren(...items);
  }

  function dischargeText(p, now) {
    const parts = [];
    if ("edd" in p) {
      const e = F.edd(p.edd, now);
      parts.push(e ? `EDD ${e.text}` : "No EDD");
    }
    if (p.medically_optimised) parts.push("MO ✓");
    if (p.discharge_status in BOARD_DISCHARGE) parts.push(BOARD_DISCHARGE[p.discharge_status]);
    if (typeof p.discharge_pathway === "number") parts.push(`P${p.discharge_pathway}`);
    const los = F.lengthOfStay(p.admitted_at, now);
    if (los !== null) parts.push(`LOS ${los}d`);
    return parts.join(" · ");
  }

  function renderObs(t, p, now) {
    if (!p || !("news2" in p)) {
      F.setText(t.s.obs, "");
      F.setData(t.s.obs, "state", null);
      return;
    }
    const due = F.obsDue(p.news2, now);
    F.setText(t.s.obs, due.text);
    F.setData(t.s.obs, "state", due.state);
  }

  function renderTile(t, bed, now) {
    const p = bed.patient;
    const el = t.el;
    F.setData(el, "bed", bed.id);
    F.setData(el, "status", bed.status);
    F.setData(el, "patient", p ? "yes" : "no");
    F.setText(t.s.bed, bed.id);
    F.setText(t.s.icon, F.STATUS_ICON[bed.status] || "?");
    F.setText(t.s.status, F.STATUS_TEXT[bed.status] || bed.status);
    F.setText(t.s.big, p ? "" : F.STATUS_TEXT[bed.status] || bed.status);
    const rg = p && p.red_green;
    F.setText(t.s.rg, rg ? (rg === "green" ? "Green" : "Red") : "");
    F.setData(t.s.rg, "rg", rg || null);
    // The server's similar-name warning (another patient here shares initials or a surname); no name needed.
    const similar = Boolean(p && bed.similar_name);
    F.setData(el, "similar", similar ? "yes" : null);
    if (t.s.similar.hidden === similar) t.s.similar.hidden = !similar;
    if (!p) {
      renderFlags(t, []);
      return;
    }
    F.setText(t.s.initials, p.initials || "—");
    F.setText(t.s.demog, [p.age, p.sex].filter((x) => x !== null && x !== undefined).join(" "));
    const nurse = [p.named_nurse, p.consultant].filter(Boolean).join(" · ");
    F.setText(t.s.nurse, nurse || ("named_nurse" in p ? "No named nurse" : ""));
    const band = "news2" in p ? F.newsBand(p.news2) : null;
    F.setData(t.s.news, "band", "news2" in p ? (band ? band.band : "none") : null);
    F.setData(t.s.news, "red", band && band.red ? "yes" : null);
    F.setText(t.s["news-score"], band ? String(band.score) : "–");
    F.setText(t.s["news-risk"], band ? (band.red ? `▲ ${band.words}` : band.words) : "No obs");
    renderObs(t, p, now);
    F.setText(t.s.discharge, dischargeText(p, now));
    const eddState = p.edd ? F.edd(p.edd, now).state : null;
    F.setData(t.s.discharge, "edd", eddState);
    // The coded "similar name" flag would say the same thing twice next to the warning.
    const flags = Array.isArray(p.flags) ? p.flags : [];
    renderFlags(t, similar ? flags.filter((f) => f !== "similar_name") : flags);
    const pending = p.tasks_pending !== undefined ? p.tasks_pending : (p.tasks || []).filter((x) => !x.done).length;
    F.setText(t.s.tasks, pending > 0 ? `Tasks ${pending}` : "");
  }

  function render(id, highlight) {
    const bed = beds.get(id);
    const t = tileFor(id);
    const key = JSON.stringify(bed);
    const changed = key !== t.key;
    t.key = key;
    renderTile(t, bed, clock.now());
    if (highlight && changed) {
      t.el.classList.remove("changed");
      void t.el.offsetWidth; // restart the animation when the same tile changes again
      t.el.classList.add("changed");
    }
  }

  // --- layout: bays as labelled blocks, packed into lines that fill the screen -------------------

  function groups() {
    const out = [];
    const byName = new Map();
    for (const bed of beds.values()) {
      // Side rooms are single rooms: they may fill the gaps that bays leave at the ends of lines.
      const side = /^side\s*room/i.test(bed.bay || "");
      const name = side ? "Side rooms" : bed.bay || "Beds";
      let g = byName.get(name);
      if (!g) {
        g = { name, ids: [], fill: side };
        byName.set(name, g);
        out.push(g);
      }
      g.ids.push(bed.id);
    }
    return out;
  }

  /** Bays in order, each kept whole on one line (split only when wider than a line); side rooms fill gaps. */
  function packLines(gs, cols) {
    const lines = [];
    let line = null;
    for (const g of gs.filter((x) => !x.fill)) {
      for (let i = 0; i < g.ids.length; i += cols) {
        const chunk = { name: i ? `${g.name} (cont.)` : g.name, ids: g.ids.slice(i, i + cols) };
        if (!line || line.used + chunk.ids.length > cols) {
          line = { chunks: [], used: 0 };
          lines.push(line);
        }
        line.chunks.push(chunk);
        line.used += chunk.ids.length;
      }
    }
    for (const g of gs.filter((x) => x.fill)) {
      for (const id of g.ids) {
        let target = lines.find((l) => l.used < cols);
        if (!target) {
          target = { chunks: [], used: 0 };
          lines.push(target);
        }
        let last = target.chunks[target.chunks.length - 1];
        if (!last || last.group !== g) {
          last = { name: g.name, ids: [], group: g };
          target.chunks.push(last);
        }
        last.ids.push(id);
        target.used += 1;
      }
    }
    return lines.map((l) => l.chunks);
  }

  /** Choose the number of columns that gives the largest type: the tile's `--u`, as board.css computes it. */
  function pack(gs) {
    const width = baysEl.clientWidth || window.innerWidth;
    const height = baysEl.clientHeight || window.innerHeight;
    const label = window.innerHeight * LABEL_VH;
    const biggest = Math.max(1, ...gs.filter((g) => !g.fill).map((g) => g.ids.length));
    let best = null;
    for (let cols = Math.max(3, Math.min(biggest, 8)); cols <= 10; cols++) {
      const lines = packLines(gs, cols);
      const blocks = Math.max(...lines.map((l) => l.length));
      const tileH = height / Math.max(1, lines.length);
      const unit = Math.min(tileH, TILE_WIDTH_SHARE * ((width - blocks * label) / cols));
      if (!best || unit > best.unit + 0.5) best = { cols, lines, unit };
    }
    return best;
  }

  function layout() {
    const { cols, lines } = pack(groups());
    baysEl.style.setProperty("--blocks", String(Math.max(1, ...lines.map((l) => l.length))));
    const lineEls = lines.map((line) => {
      const lineEl = document.createElement("div");
      lineEl.className = "line";
      for (const chunk of line) {
        const bay = document.createElement("section");
        bay.className = "bay";
        bay.style.setProperty("--span", String(chunk.ids.length));
        const label = document.createElement("h2");
        label.className = "bay-name";
        label.textContent = chunk.name;
        bay.append(label, ...chunk.ids.map((id) => tileFor(id).el));
        lineEl.append(bay);
      }
      return lineEl;
    });
    baysEl.style.setProperty("--cols", String(cols));
    baysEl.style.setProperty("--lines", String(lines.length));
    baysEl.replaceChildren(...lineEls);
  }

  // --- the ward as a whole ------------------------------------------------------------------------

  function load(bedList, highlight) {
    beds.clear();
    for (const bed of bedList) beds.set(bed.id, bed);
    for (const id of [...tiles.keys()]) if (!beds.has(id)) tiles.delete(id);
    const key = bedList.map((b) => `${b.id}\u0000${b.bay}`).join("\u0001");
    if (key !== structureKey) {
      structureKey = key;
      layout();
    }
    for (const id of beds.keys()) render(id, highlight);
    const times = bedList.map((b) => Date.parse(b.updated_at || "")).filter((t) => !Number.isNaN(t));
    if (times.length) lastChangeMs = Math.max(lastChangeMs || 0, ...times);
    renderHeader();
  }

  function renderHeader() {
    const now = clock.now();
    const today = F.localDate(now);
    const c = { occupied: 0, empty: 0, cleaning: 0, closed: 0, blocked: 0, discharges: 0 };
    for (const bed of beds.values()) {
      if (bed.status in c) c[bed.status] += 1;
      if (bed.patient && bed.patient.edd === today) c.discharges += 1;
    }
    for (const [name, el] of Object.entries(counts)) F.setText(el, String(c[name]));
    F.setText(ui.updated, lastChangeMs ? F.hhmm(lastChangeMs) : "–");
  }

  function tick() {
    const now = clock.now();
    F.setText(ui.clock, F.hhmm(now));
    for (const [id, t] of tiles) renderObs(t, beds.get(id).patient, now);
    const asof = F.hhmm(clock.toServer(live.lastFrameAt));
    F.setText(ui.asof, asof);
    F.setText(ui.asofBanner, asof);
  }

  /** The position shown, on <body> for tests and for whoever inspects a board (STYLE.md hooks). */
  function markPosition() {
    F.setData(body, "offset", live.offset);
    F.setData(body, "epoch", live.epoch);
  }

  function onState(state) {
    body.dataset.connection = state;
    F.setText(ui.connText, { live: "Live", reconnecting: "Reconnecting…", stale: "Not live" }[state] || state);
    ui.cover.setAttribute("aria-hidden", state === "stale" ? "false" : "true");
    ui.cover.setAttribute("role", state === "stale" ? "alert" : "presentation");
    tick();
  }

  const live = new LiveWard({
    ward,
    offset: initial.offset,
    epoch: initial.epoch,
    staleMs: Number(body.dataset.staleSecs) * 1000,
    onState,
    onSnapshot: (msg) => {
      load(msg.beds, true);
      markPosition();
    },
    onResumed: markPosition,
    onEvent: (msg) => {
      markPosition();
      const e = msg.event;
      const at = Date.parse(e.at || "");
      if (!Number.isNaN(at)) lastChangeMs = Math.max(lastChangeMs || 0, at);
      const bed = e.bed ? beds.get(e.bed) : null;
      // A change of who is in one bed can turn the similar-name warning on or off in others too.
      const moved = Object.entries(e.similar_name || {}).filter(([id]) => beds.has(id));
      for (const [id, flagged] of moved) beds.get(id).similar_name = Boolean(flagged);
      for (const [id] of moved) if (id !== e.bed) render(id, false);
      // A move within the ward (transfer or swap) changes a second bed in the same event.
      for (const [id, changes] of Object.entries(e.also || {})) {
        if (!beds.has(id)) continue;
        Object.assign(beds.get(id), changes);
        render(id, true);
      }
      if (bed) {
        Object.assign(bed, e.changes);
        render(bed.id, true);
      } else if (e.kind === "ward.display_profile") {
        // Live, the server sends displays a fresh snapshot instead; met in a replay, ask for one.
        live.resync("display profile changed");
      }
      renderHeader();
    },
    onHeartbeat: (msg) => clock.sync(msg.at),
    onAuthProblem: () =>
      F.setText(ui.retry, "This display's credential was refused: ask an admin to enrol the display again."),
  });

  load(initial.beds, false);
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(layout, 200);
  });
  window.setInterval(tick, 1000);
  window.setInterval(() => {
    for (const id of beds.keys()) render(id, false);
    renderHeader();
  }, 60000);
  tick();
  live.start();
})();
