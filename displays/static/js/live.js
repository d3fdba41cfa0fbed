/* live.js — the one WebSocket client for a ward (CONTRACT.md, "WebSocket").
 *
 * Connects to /ws/wards/{ward}, resumes by offset (since + epoch) after any drop, and reconnects with
 * jittered exponential backoff, so a server restart does not bring every board back at once. A
 * watchdog turns silence into state: `live` while frames arrive, `reconnecting` when the socket is
 * down (or has gone quiet), `stale` when nothing has arrived for `staleMs`. Pings ask the server for a
 * heartbeat well inside that window, so an idle ward is never mistaken for a dead link.
 *
 * Frames are dispatched on `msg.type`; an unknown type throws (a protocol change must be noticed, not
 * ignored). A page callback that throws makes the client ask for a fresh snapshot, because a
 * half-applied event could leave the page showing something that is not true.
 */
(function () {
  "use strict";

  const BACKOFF_BASE_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const AUTH_PROBE_AFTER = 3; // failed attempts in a row before asking the API whether we are still signed in

  /** Delay before reconnect attempt `n` (0-based): exponential, capped, with "equal jitter". */
  function backoffDelay(attempt, random) {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, attempt));
    return ceiling / 2 + (random || Math.random)() * (ceiling / 2);
  }

  /** Compare offsets "A-B" as pairs of integers (they can exceed 2^53 in principle). */
  function compareOffsets(a, b) {
    const [a1, a2] = String(a).split("-").map(BigInt);
    const [b1, b2] = String(b).split("-").map(BigInt);
    if (a1 !== b1) return a1 < b1 ? -1 : 1;
    if (a2 !== b2) return a2 < b2 ? -1 : 1;
    return 0;
  }

  class LiveWard {
    /**
     * @param {object} o
     * @param {string} o.ward
     * @param {string=} o.offset  position the page already shows (from the server-rendered snapshot)
     * @param {string=} o.epoch
     * @param {number} o.staleMs
     * @param {(msg: object) => void} o.onSnapshot
     * @param {(msg: object) => void} o.onEvent
     * @param {(msg: object) => void=} o.onResumed
     * @param {(msg: object) => void=} o.onHeartbeat
     * @param {(state: string) => void} o.onState
     * @param {(status: number) => void=} o.onAuthProblem  401/403 from the API: the credential is gone
     */
    constructor(o) {
      this.o = o;
      this.offset = o.offset || null;
      this.epoch = o.epoch || null;
      this.staleMs = Math.max(1000, o.staleMs || 30000);
      // Pings every few seconds: a pulled cable shows as `reconnecting` after ~2.5 unanswered pings.
      this.pingMs = Math.min(5000, Math.max(1000, this.staleMs / 6));
      this.state = "reconnecting";
      this.ws = null;
      this.synced = false; // this connection has delivered a snapshot or `resumed`
      this.attempt = 0;
      this.failures = 0;
      this.timer = null;
      this.lastFrameAt = Date.now();
      this.lastPingAt = 0;
      this.connStartedAt = 0;
      this.stopped = true;
      this.watchdog = null;
      this.onOnline = () => this.reconnectNow();
      this.onOffline = () => this.linkDown("the browser went offline");
    }

    start() {
      if (!this.stopped) return;
      this.stopped = false;
      this.lastFrameAt = Date.now();
      window.addEventListener("online", this.onOnline);
      window.addEventListener("offline", this.onOffline);
      this.watchdog = window.setInterval(() => this.check(), 500);
      this.connect();
    }

    stop() {
      this.stopped = true;
      window.removeEventListener("online", this.onOnline);
      window.removeEventListener("offline", this.onOffline);
      window.clearInterval(this.watchdog);
      window.clearTimeout(this.timer);
      this.drop(1000, "page closed");
    }

    url() {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      let url = `${scheme}//${location.host}/ws/wards/${encodeURIComponent(this.o.ward)}`;
      if (this.offset && this.epoch) {
        url += `?since=${encodeURIComponent(this.offset)}&epoch=${encodeURIComponent(this.epoch)}`;
      }
      return url;
    }

    connect() {
      if (this.stopped || this.ws) return;
      window.clearTimeout(this.timer);
      this.timer = null;
      this.synced = false;
      this.connStartedAt = Date.now();
      let ws;
      try {
        ws = new WebSocket(this.url());
      } catch (err) {
        console.error("whiteboard: cannot open WebSocket", err);
        this.scheduleReconnect();
        return;
      }
      this.ws = ws;
      ws.onmessage = (e) => this.receive(e.data);
      ws.onclose = () => this.closed(ws);
      ws.onerror = () => {}; // a close always follows; that is where we act
    }

    receive(data) {
      this.lastFrameAt = Date.now();
      let msg;
      try {
        msg = JSON.parse(data);
      } catch (err) {
        console.error("whiteboard: a frame that is not JSON", err);
        return;
      }
      this.dispatch(msg);
    }

    dispatch(msg) {
      switch (msg.type) {
        case "snapshot":
          this.offset = msg.offset;
          this.epoch = msg.epoch;
          this.markSynced();
          this.safely(() => this.o.onSnapshot(msg));
          break;
        case "event":
          if (this.epoch && msg.epoch !== this.epoch) {
            this.resync("an event from another epoch");
            break;
          }
          if (this.offset && compareOffsets(msg.offset, this.offset) <= 0) break; // already shown
          this.offset = msg.offset;
          this.safely(() => this.o.onEvent(msg));
          break;
        case "resumed":
          this.offset = msg.offset;
          this.epoch = msg.epoch;
          this.markSynced();
          if (this.o.onResumed) this.safely(() => this.o.onResumed(msg));
          break;
        case "heartbeat":
          if (this.o.onHeartbeat) this.safely(() => this.o.onHeartbeat(msg));
          break;
        default:
          throw new Error(`whiteboard: unknown message type ${JSON.stringify(msg.type)}`);
      }
      if (this.synced) this.setState("live");
    }

    markSynced() {
      this.synced = true;
      this.attempt = 0;
      this.failures = 0;
    }

    safely(fn) {
      try {
        fn();
      } catch (err) {
        console.error("whiteboard: the page failed to apply a frame; asking for a fresh snapshot", err);
        this.resync("page error");
      }
    }

    /** Forget the position and reconnect: the server answers with a full snapshot. */
    resync(reason) {
      this.offset = null;
      this.epoch = null;
      this.drop(4000, reason);
      this.scheduleReconnect(0);
    }

    drop(code, reason) {
      const ws = this.ws;
      if (!ws) return;
      this.ws = null;
      ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(code, reason);
      } catch (err) {
        /* already closing */
      }
    }

    closed(ws) {
      if (ws !== this.ws) return;
      ws.onmessage = ws.onclose = ws.onerror = null;
      this.ws = null;
      if (!this.synced) this.failures += 1;
      this.synced = false;
      if (this.stopped) return;
      if (this.state === "live") this.setState("reconnecting");
      if (this.failures >= AUTH_PROBE_AFTER && this.failures % AUTH_PROBE_AFTER === 0) this.probeAuth();
      this.scheduleReconnect();
    }

    scheduleReconnect(delay) {
      if (this.stopped || this.timer) return;
      const wait = delay === undefined ? backoffDelay(this.attempt) : delay;
      this.attempt = Math.min(this.attempt + 1, 20);
      this.timer = window.setTimeout(() => {
        this.timer = null;
        this.connect();
      }, wait);
    }

    reconnectNow() {
      if (this.stopped || this.ws) return;
      window.clearTimeout(this.timer);
      this.timer = null;
      this.attempt = 0;
      this.connect();
    }

    async probeAuth() {
      try {
        const r = await fetch(`/api/wards/${encodeURIComponent(this.o.ward)}`, {
          cache: "no-store",
          credentials: "same-origin",
          method: "GET",
        });
        if ((r.status === 401 || r.status === 403) && this.o.onAuthProblem) this.o.onAuthProblem(r.status);
      } catch (err) {
        /* the network is down: nothing to learn */
      }
    }

    check() {
      if (this.stopped) return;
      const now = Date.now();
      const silent = now - this.lastFrameAt;
      if (this.ws && this.ws.readyState === WebSocket.OPEN && now - this.lastPingAt >= this.pingMs) {
        this.lastPingAt = now;
        try {
          this.ws.send('{"type":"ping"}');
        } catch (err) {
          /* closing; onclose follows */
        }
      }
      // A socket that has gone quiet is as good as closed (a pulled cable can take minutes to show).
      const quiet = now - Math.max(this.lastFrameAt, this.connStartedAt);
      if (this.ws && quiet > Math.min(this.staleMs, this.pingMs * 2.5)) this.linkDown("no frames");
      if (silent > this.staleMs) this.setState("stale");
    }

    /** The connection is gone (or as good as gone): say so now and try again with backoff. */
    linkDown(reason) {
      if (this.stopped) return;
      if (this.ws) {
        this.drop(4001, reason);
        this.failures += 1;
      }
      if (this.state === "live") this.setState("reconnecting");
      this.scheduleReconnect();
    }

    setState(state) {
      if (state === this.state) return;
      this.state = state;
      this.o.onState(state);
    }
  }

  window.WhiteboardLive = { LiveWard, backoffDelay, compareOffsets };
})();
