// The live booking feed: /ws/admin/bookings/ with automatic reconnection.
//
// Browsers cannot set headers on a WebSocket, so the token travels as ?token= on the socket's
// URL (never the page's). The last event_id seen is kept in sessionStorage and sent back as
// ?since= on every reconnect, so the server replays whatever happened while we were away,
// in order; reconnects back off exponentially (with jitter) up to MAX_DELAY_MS.

const SOCKET_PATH = "/ws/admin/bookings/";
const LAST_EVENT_KEY = "booking-admin.last-event-id";
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;
const PING_EVERY_MS = 25000;
const PONG_TIMEOUT_MS = 10000;
/** The events the dashboard shows: bookings made, moved and cancelled, holds made and released. */
const FEED_TYPES = new Set([
  "booking_created",
  "booking_cancelled",
  "booking_rescheduled",
  "booking_held",
  "hold_released",
]);

export function lastEventId() {
  const value = Number(sessionStorage.getItem(LAST_EVENT_KEY));
  return Number.isInteger(value) && value > 0 ? value : null;
}

export function forgetLastEventId() {
  sessionStorage.removeItem(LAST_EVENT_KEY);
}

export class BookingFeed {
  /**
   * `onEvent(message)` gets each booking message (FEED_TYPES) once, in order.
   * `onStatus({state, retryInMs})`: state is connecting, live, waiting or stopped.
   * `onOpen({resumed})`: resumed is false when there was no event id to resume from, so the
   * caller must reload what it shows. `onRefused()` runs when a handshake fails, so the caller
   * can check whether the token is still accepted.
   */
  constructor(token, { onEvent, onStatus, onOpen, onRefused }) {
    this.token = token;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onOpen = onOpen;
    this.onRefused = onRefused;
    this.socket = null;
    this.attempt = 0;
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.pongTimer = 0;
    this.stopped = true;
    this.retryAt = 0;
    this.handleOnline = () => this.reconnectNow();
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this.handleOnline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.handleOnline);
    this.clearTimers();
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close(1000, "signed out");
    }
    this.onStatus({ state: "stopped" });
  }

  /** Skip the rest of the back-off (the "Retry now" button, the browser coming online). */
  reconnectNow() {
    if (this.stopped || this.socket) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  url(since) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = new URL(`${scheme}//${location.host}${SOCKET_PATH}`);
    url.searchParams.set("token", this.token);
    if (since !== null) url.searchParams.set("since", String(since));
    return url.toString();
  }

  connect() {
    this.clearTimers();
    const since = lastEventId();
    this.onStatus({ state: "connecting" });
    let opened = false;
    const socket = new WebSocket(this.url(since));
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (socket !== this.socket) return;
      opened = true;
      this.attempt = 0;
      this.onStatus({ state: "live" });
      this.schedulePing();
      this.onOpen({ resumed: since !== null });
    });
    socket.addEventListener("message", (event) => {
      if (socket !== this.socket) return;
      this.receive(event.data);
    });
    socket.addEventListener("close", () => {
      if (socket !== this.socket) return;
      if (!opened && !this.stopped) this.onRefused();
      this.drop(socket);
    });
  }

  /** Forget `socket` (closed, or silent too long) and plan the next attempt. */
  drop(socket) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.clearTimers();
    if (socket.readyState === WebSocket.OPEN) socket.close(4000, "no answer to ping");
    if (!this.stopped) this.scheduleReconnect();
  }

  receive(raw) {
    clearTimeout(this.pongTimer);
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    if (!message || typeof message !== "object") return;
    if (!FEED_TYPES.has(message.type)) return;
    const eventId = Number(message.event_id);
    const last = lastEventId();
    if (Number.isInteger(eventId) && last !== null && eventId <= last) return; // seen already
    if (Number.isInteger(eventId)) sessionStorage.setItem(LAST_EVENT_KEY, String(eventId));
    this.onEvent(message);
  }

  scheduleReconnect() {
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempt);
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt += 1;
    this.retryAt = Date.now() + delay;
    this.onStatus({ state: "waiting", retryInMs: delay });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** A ping now and then keeps proxies from idling the socket out and notices a dead one. */
  schedulePing() {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      const socket = this.socket;
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      socket.send(JSON.stringify({ type: "ping" }));
      this.pongTimer = setTimeout(() => this.drop(socket), PONG_TIMEOUT_MS);
      this.schedulePing();
    }, PING_EVERY_MS);
  }

  clearTimers() {
    clearTimeout(this.retryTimer);
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
  }
}
