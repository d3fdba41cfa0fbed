/* format.js — how the board and the phone say things: NEWS2 bands, obs due, EDD, times, bed states.
 * Pure functions of their arguments (the current time is passed in), shared so both views agree.
 */
(function () {
  "use strict";

  const STATUS_TEXT = {
    occupied: "Occupied",
    empty: "Free",
    cleaning: "Cleaning",
    blocked: "Blocked",
    closed: "Closed",
  };
  // Shapes that survive greyscale and colour blindness; the text always accompanies them.
  const STATUS_ICON = { occupied: "●", empty: "○", cleaning: "◐", blocked: "⊘", closed: "✕" };
  const DISCHARGE_TEXT = {
    not_planned: "Not planned",
    planned: "Planned",
    awaiting_tto: "Awaiting TTO",
    awaiting_transport: "Awaiting transport",
    ready: "Ready to go",
  };
  const TASK_TEXT = {
    bloods: "Bloods",
    tests: "Tests",
    results: "Results to review",
    therapy: "Therapy",
    tto: "TTO",
    transport: "Transport",
    porter: "Porter",
    other: "Other",
  };

  /** A clock that follows the server's, so countdowns and "data as of" do not depend on the kiosk's clock. */
  class ServerClock {
    constructor(serverIso) {
      this.skew = 0;
      if (serverIso) this.sync(serverIso);
    }
    sync(serverIso) {
      const t = Date.parse(serverIso);
      if (!Number.isNaN(t)) this.skew = t - Date.now();
    }
    now() {
      return Date.now() + this.skew;
    }
    toServer(clientMs) {
      return clientMs + this.skew;
    }
  }

  const pad = (n) => String(n).padStart(2, "0");

  function hhmm(ms) {
    const d = new Date(ms);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function hhmmss(ms) {
    const d = new Date(ms);
    return `${hhmm(ms)}:${pad(d.getSeconds())}`;
  }

  /** Local calendar date "YYYY-MM-DD" (EDDs are dates on the ward's calendar). */
  function localDate(ms) {
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  function addDays(isoDate, days) {
    const [y, m, d] = isoDate.split("-").map(Number);
    const t = new Date(y, m - 1, d + days);
    return localDate(t.getTime());
  }

  /** "2h 05m", "9m 12s" (seconds only when it is close, so the countdown is visibly live). */
  function duration(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (h >= 24) return `${Math.floor(h / 24)}d ${h % 24}h`;
    if (h > 0) return `${h}h ${pad(m)}m`;
    if (m >= 10) return `${m}m`;
    return `${m}m ${pad(s % 60)}s`;
  }

  /** The RCP band a NEWS2 result falls in, and words for it (colour is never the only signal). */
  function newsBand(n) {
    if (!n || typeof n.score !== "number") return null;
    let band = "low";
    if (n.score === 0) band = "zero";
    else if (n.risk === "high" || n.score >= 7) band = "high";
    else if (n.risk === "medium" || n.score >= 5) band = "medium";
    const words = { zero: "None", low: "Low", medium: "Medium", high: "High" }[band];
    const red = Boolean(n.red_score);
    return { band, red, words: red && band === "low" ? "Low–med" : words, score: n.score };
  }

  /** Obs due in / overdue by, from NEWS2's next_due. */
  function obsDue(n, nowMs) {
    if (!n || !n.next_due) return { state: "none", text: "No obs recorded" };
    const due = Date.parse(n.next_due);
    if (Number.isNaN(due)) return { state: "none", text: "No obs recorded" };
    const left = due - nowMs;
    if (left < 0) return { state: "overdue", text: `Obs overdue ${duration(-left)}` };
    return { state: left <= 30 * 60 * 1000 ? "soon" : "ok", text: `Obs due in ${duration(left)}` };
  }

  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function shortDate(isoDate) {
    const [y, m, d] = isoDate.split("-").map(Number);
    return y && m && d ? `${d} ${MONTHS[m - 1]}` : isoDate;
  }

  /** "22 Aug 1943": unambiguous, unlike 08/22 or 22/08 depending on who reads it. */
  function longDate(isoDate) {
    const [y, m, d] = String(isoDate).split("-").map(Number);
    return y && m && d ? `${d} ${MONTHS[m - 1]} ${y}` : String(isoDate);
  }

  /** EDD words relative to today: "today", "tomorrow", "27 Nov", or "passed (20 Nov)". */
  function edd(isoDate, nowMs) {
    if (!isoDate) return null;
    const today = localDate(nowMs);
    if (isoDate === today) return { state: "today", text: "today" };
    if (isoDate === addDays(today, 1)) return { state: "soon", text: "tomorrow" };
    if (isoDate < today) return { state: "passed", text: `passed ${shortDate(isoDate)}` };
    return { state: "later", text: shortDate(isoDate) };
  }

  /** Days since admission, as "LOS 4d". */
  function lengthOfStay(admittedIso, nowMs) {
    const t = Date.parse(admittedIso || "");
    if (Number.isNaN(t)) return null;
    return Math.max(0, Math.floor((nowMs - t) / 86400000));
  }

  function nhsNumber(digits) {
    return digits && digits.length === 10 ? `${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}` : "";
  }

  /** Replace an element's text only when it changed (no needless layout or mutation records). */
  function setText(el, text) {
    if (el && el.textContent !== text) el.textContent = text;
  }

  function setData(el, key, value) {
    if (!el) return;
    if (value === null || value === undefined || value === "") {
      if (key in el.dataset) delete el.dataset[key];
    } else if (el.dataset[key] !== String(value)) {
      el.dataset[key] = String(value);
    }
  }

  /** Build an element: el("p", {class: "x", text: "hi", "aria-live": "polite"}, child, ...). */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.includes("-") || k === "role" || k === "for") node.setAttribute(k, v === true ? "" : v);
      else node[k] = v;
    }
    node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
    return node;
  }

  window.WhiteboardFormat = {
    el,
    STATUS_TEXT,
    STATUS_ICON,
    DISCHARGE_TEXT,
    TASK_TEXT,
    ServerClock,
    hhmm,
    hhmmss,
    localDate,
    duration,
    newsBand,
    obsDue,
    edd,
    shortDate,
    longDate,
    lengthOfStay,
    nhsNumber,
    setText,
    setData,
  };
})();
