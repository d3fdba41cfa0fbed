/* mobile.js — the phone view: my wards → bed list → bed detail, live over the ward's WebSocket.
 *
 * Views switch under `#/` (no reload, so the ward's live connection survives navigation). Rows and
 * sections are built once and updated in place as events arrive, so focus and half-typed edits are
 * never thrown away. Editing and saving live in mobile-bed.js.
 */
(function () {
  "use strict";

  const F = window.WhiteboardFormat;
  const { LiveWard } = window.WhiteboardLive;
  const Bed = window.WhiteboardBed;
  const config = JSON.parse(document.getElementById("wb-config").textContent);
  const wards = JSON.parse(document.getElementById("wb-wards").textContent);
  const clock = new F.ServerClock(config.serverNow);
  const view = document.getElementById("view");
  const slot = (name) => document.querySelector(`[data-slot="${name}"]`);
  const ui = { back: slot("back"), backLabel: slot("back-label"), title: slot("title"), conn: slot("conn"),
    stale: slot("stale"), toast: slot("toast") };

  // --- HTTP ---------------------------------------------------------------------------------------

  /** fetch() with the cookie, the CSRF header on writes, and the contract's error body made readable. */
  async function api(method, url, body, headers) {
    const h = Object.assign({ Accept: "application/json" }, headers || {});
    if (body !== undefined) h["Content-Type"] = "application/json";
    if (method !== "GET") h["X-Whiteboard-Client"] = "phone";
    let res;
    try {
      res = await fetch(url, { method, headers: h, credentials: "same-origin", cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      return { ok: false, status: 0, error: { code: "network",
        message: "No connection to the server, so nothing was saved. Check the Wi-Fi and try again." } };
    }
    let data = null;
    if (res.status !== 304 && res.status !== 204) {
      try {
        data = await res.json();
      } catch (err) {
        data = null;
      }
    }
    const etag = res.headers.get("ETag");
    if (res.ok || res.status === 304) return { ok: true, status: res.status, data, etag };
    const error = (data && data.error) || { code: `http_${res.status}`, message: `The server answered ${res.status}.` };
    if (res.status === 401) {
      error.message += " Your sign-in has ended: sign in again.";
      toast("Signed out: sign in again to keep editing.");
    }
    return { ok: false, status: res.status, error };
  }

  function toast(text) {
    F.setText(ui.toast, text);
    window.clearTimeout(toast.timer);
    toast.timer = window.setTimeout(() => F.setText(ui.toast, ""), 6000);
  }

  // --- one ward's live data -----------------------------------------------------------------------

  class WardSession {
    constructor(id) {
      this.id = id;
      this.beds = new Map();
      this.lastBy = new Map(); // bed id → {by, at} of the newest event seen for it
      this.name = id;
      this.listeners = new Set();
      this.live = null;
      this.ready = null;
      this.etag = null;
      this.fetched = null; // the last snapshot read over HTTP (what If-Match refers to)
    }

    url() {
      return `/api/wards/${encodeURIComponent(this.id)}`;
    }

    load() {
      if (!this.ready) {
        this.ready = (async () => {
          const r = await api("GET", this.url());
          if (!r.ok) {
            this.ready = null; // let the next visit try again
            throw new Error(r.error.message);
          }
          this.accept(r);
          this.setBeds(r.data.beds);
          this.name = r.data.ward.name;
          this.live = new LiveWard({
            ward: this.id,
            offset: r.data.offset,
            epoch: r.data.epoch,
            staleMs: config.staleSecs * 1000,
            onState: (state) => this.emit({ type: "state", state }),
            onSnapshot: (msg) => {
              this.setBeds(msg.beds);
              this.emit({ type: "snapshot" });
            },
            onEvent: (msg) => this.applyEvent(msg.event),
            onHeartbeat: (msg) => clock.sync(msg.at),
            onAuthProblem: () => toast("Your sign-in is no longer accepted: sign in again."),
          });
          this.live.start();
        })();
      }
      return this.ready;
    }

    accept(r) {
      this.etag = r.etag;
      this.fetched = { etag: r.etag, beds: new Map(r.data.beds.map((b) => [b.id, b])), offset: r.data.offset };
    }

    /** The bed as the server has it now, with the version to send as If-Match (revalidated, cheap when
     * unchanged). The bed's own version: edits to other beds never make this save stale. */
    async fresh(bedId) {
      const r = await api("GET", this.url(), undefined, this.fetched ? { "If-None-Match": this.fetched.etag } : {});
      if (!r.ok) return r;
      if (r.status !== 304) this.accept(r);
      const bed = this.fetched.beds.get(bedId);
      const etag = bed && Number.isInteger(bed.version) ? `"bed-${bed.version}"` : this.fetched.etag;
      return { ok: true, bed, etag };
    }

    setBeds(list) {
      this.beds = new Map(list.map((b) => [b.id, b]));
    }

    applyEvent(e) {
      if (e.at && e.bed) this.lastBy.set(e.bed, { by: e.by, at: e.at });
      const bed = e.bed ? this.beds.get(e.bed) : null;
      if (bed) Object.assign(bed, e.changes);
      // The server's similar-name warning can move on other beds too (an admission or discharge elsewhere).
      const moved = Object.entries(e.similar_name || {}).filter(([id]) => this.beds.has(id));
      for (const [id, flagged] of moved) this.beds.get(id).similar_name = Boolean(flagged);
      this.emit({ type: "event", kind: e.kind, bed: e.bed, by: e.by, at: e.at, changes: e.changes });
      // A move within the ward (transfer or swap) changes a second bed in the same event.
      for (const [id, changes] of Object.entries(e.also || {})) {
        const other = this.beds.get(id);
        if (!other) continue;
        Object.assign(other, changes);
        if (e.at) this.lastBy.set(id, { by: e.by, at: e.at });
        this.emit({ type: "event", kind: e.kind, bed: id, by: e.by, at: e.at, changes });
      }
      for (const [id] of moved) if (id !== e.bed) this.emit({ type: "similar", bed: id });
    }

    /** Apply our own saved change at once (the same event also arrives live; applying it twice is harmless). */
    applyOwn(event) {
      if (event && event.bed) this.applyEvent(event);
    }

    on(fn) {
      this.listeners.add(fn);
      return () => this.listeners.delete(fn);
    }

    emit(change) {
      for (const fn of [...this.listeners]) fn(change);
    }

    close() {
      if (this.live) this.live.stop();
      this.listeners.clear();
    }
  }

  let session = null;
  let unsubscribe = () => {};

  function sessionFor(wardId) {
    if (session && session.id === wardId) return session;
    if (session) session.close();
    session = new WardSession(wardId);
    return session;
  }

  function showConnection(state) {
    ui.conn.hidden = !session;
    ui.conn.dataset.state = state;
    F.setText(ui.conn, { live: "Live", reconnecting: "Reconnecting…", stale: "Not live" }[state] || state);
    if (state === "stale" && session && session.live) {
      ui.stale.hidden = false;
      F.setText(ui.stale, `Not live since ${F.hhmm(clock.toServer(session.live.lastFrameAt))}: what you see may be ` +
        "out of date. Saving still checks with the server.");
    } else {
      ui.stale.hidden = true;
    }
  }

  // --- views --------------------------------------------------------------------------------------

  const el = F.el;

  function heading(text) {
    return el("h1", { text, tabIndex: -1 });
  }

  function setChrome(title, back, backLabel) {
    F.setText(ui.title, title);
    ui.back.hidden = !back;
    if (back) ui.back.setAttribute("href", back);
    F.setText(ui.backLabel, backLabel || "Back");
  }

  function wardsView() {
    setChrome("Ward Whiteboard", null);
    document.title = "Your wards — Ward Whiteboard";
    const items = wards.map((w) =>
      el("li", {}, el("a", { class: "row-link", href: `#/ward/${encodeURIComponent(w.id)}` },
        el("span", { class: "row-main" }, el("span", { class: "row-title", text: w.name }),
          el("span", { class: "row-sub", text: `${w.beds} beds` })))));
    const list = items.length ? el("ul", { class: "list" }, ...items)
      : el("p", { text: "This credential covers no ward. Ask an admin." });
    view.replaceChildren(heading("Your wards"), list);
  }

  function bedSummary(bed, now) {
    const p = bed.patient;
    const chips = [];
    if (p) {
      const band = F.newsBand(p.news2);
      chips.push(el("span", { class: "chip", "data-band": band ? band.band : null,
        text: band ? `NEWS2 ${band.score}${band.red ? " ▲" : ""}` : "No obs" }));
      const due = F.obsDue(p.news2, now);
      if (due.state === "overdue") chips.push(el("span", { class: "chip", "data-obs": "overdue", text: "Obs overdue" }));
      if (p.red_green) chips.push(el("span", { class: "chip", "data-rg": p.red_green,
        text: p.red_green === "green" ? "Green" : "Red" }));
      const pending = (p.tasks || []).filter((t) => !t.done).length;
      if (pending) chips.push(el("span", { class: "chip", text: `${pending} task${pending > 1 ? "s" : ""}` }));
      if ((p.flags || []).length) chips.push(el("span", { class: "chip", text: `${p.flags.length} flag${p.flags.length > 1 ? "s" : ""}` }));
      if (bed.similar_name) chips.push(el("span", { class: "chip chip-similar", "data-similar": "yes",
        title: "Another patient on this ward has the same initials or surname: check the wristband",
        text: "⚠ Similar name" }));
    }
    const title = p ? `${p.name || p.initials || "Patient"}` : F.STATUS_TEXT[bed.status] || bed.status;
    const sub = p ? [p.named_nurse, p.edd ? `EDD ${F.edd(p.edd, now).text}` : null].filter(Boolean).join(" · ")
      : bed.notes || "";
    return [el("span", { class: "bed-id", text: bed.id }),
      el("span", { class: "row-main" }, el("span", { class: "row-title", text: title }),
        sub ? el("span", { class: "row-sub", text: sub }) : null,
        chips.length ? el("span", { class: "chips" }, ...chips) : null)];
  }

  function wardView(wardId) {
    const s = sessionFor(wardId);
    const ward = wards.find((w) => w.id === wardId);
    setChrome(ward ? ward.name : wardId, "#/", "Back to your wards");
    document.title = `${ward ? ward.name : wardId} — Ward Whiteboard`;
    const countsLine = el("p", { class: "counts-line", "aria-live": "off" });
    const listHost = el("div", { "data-slot": "beds" }, el("p", { text: "Loading beds…" }));
    view.replaceChildren(heading(ward ? ward.name : wardId), countsLine, listHost);
    const rows = new Map();

    function drawRow(bed) {
      const a = rows.get(bed.id);
      a.dataset.status = bed.status;
      a.replaceChildren(...bedSummary(bed, clock.now()));
    }

    function drawCounts() {
      const c = { occupied: 0, empty: 0, cleaning: 0, blocked: 0, closed: 0 };
      for (const b of s.beds.values()) c[b.status] = (c[b.status] || 0) + 1;
      F.setText(countsLine, `${c.occupied} occupied · ${c.empty} free · ${c.cleaning} cleaning · ` +
        `${c.closed + c.blocked} closed or blocked`);
    }

    function drawAll() {
      rows.clear();
      const parts = [];
      let bay = null;
      let list = null;
      for (const bed of s.beds.values()) {
        if (bed.bay !== bay) {
          bay = bed.bay;
          list = el("ul", { class: "list" });
          parts.push(el("h2", { class: "bay-title", text: bay || "Beds" }), list);
        }
        const a = el("a", { class: "row-link", href: `#/ward/${encodeURIComponent(wardId)}/bed/${encodeURIComponent(bed.id)}`,
          "data-bed": bed.id });
        rows.set(bed.id, a);
        drawRow(bed);
        list.append(el("li", {}, a));
      }
      if (config.isAdmin) parts.push(Bed.profileSection({ api, wardId, fieldLabels: config.fieldLabels, toast }));
      listHost.replaceChildren(...parts);
      drawCounts();
    }

    s.load().then(drawAll, (err) => listHost.replaceChildren(el("p", { class: "error-summary", role: "alert",
      text: `Could not load this ward: ${err.message}` })));
    return s.on((change) => {
      if (change.type === "state") return showConnection(change.state);
      if (change.type === "snapshot") return drawAll();
      if (change.type === "tick") return s.beds.forEach((b) => rows.has(b.id) && drawRow(b));
      const bed = change.bed && s.beds.get(change.bed);
      if (bed && rows.has(bed.id)) drawRow(bed);
      drawCounts();
      return undefined;
    });
  }

  function bedView(wardId, bedId) {
    const s = sessionFor(wardId);
    const ward = wards.find((w) => w.id === wardId);
    setChrome(`${ward ? ward.name : wardId}`, `#/ward/${encodeURIComponent(wardId)}`, "Back to the bed list");
    document.title = `Bed ${bedId} — Ward Whiteboard`;
    view.replaceChildren(heading(`Bed ${bedId}`), el("p", { text: "Loading…" }));
    let detail = null;
    s.load().then(() => {
      const bed = s.beds.get(bedId);
      if (!bed) {
        view.replaceChildren(heading(`Bed ${bedId}`), el("p", { text: "This ward has no such bed." }));
        return;
      }
      detail = Bed.detail({ api, session: s, bedId, config, clock, toast, heading, wards });
      view.replaceChildren(...detail.nodes);
    }, (err) => view.replaceChildren(heading(`Bed ${bedId}`), el("p", { class: "error-summary", role: "alert",
      text: `Could not load this ward: ${err.message}` })));
    return s.on((change) => {
      if (change.type === "state") return showConnection(change.state);
      if (detail && (change.type === "snapshot" || change.bed === bedId)) detail.update(change);
      return undefined;
    });
  }

  function route() {
    unsubscribe();
    const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    let focusTarget = true;
    if (parts[0] === "ward" && parts[1] && parts[2] === "bed" && parts[3]) {
      unsubscribe = bedView(parts[1], parts[3]);
    } else if (parts[0] === "ward" && parts[1]) {
      unsubscribe = wardView(parts[1]);
    } else {
      if (session) session.close();
      session = null;
      unsubscribe = () => {};
      wardsView();
      focusTarget = location.hash !== "";
    }
    showConnection(session && session.live ? session.live.state : "reconnecting");
    window.scrollTo(0, 0);
    const h1 = view.querySelector("h1");
    if (focusTarget && h1) h1.focus();
  }

  window.addEventListener("hashchange", route);
  route();
  window.setInterval(() => {
    if (session) session.emit({ type: "tick" });
  }, 30000);
})();
