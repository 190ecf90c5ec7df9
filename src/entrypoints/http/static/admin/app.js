// The admin dashboard: sign-in, then the bookings table, day view (a column per resource),
// staff and rooms, services and settings, kept live by the WebSocket feed. Plain ES modules, no build step; every booking field is rendered as text.

import { AdminApi, ApiError } from "./api.js";
import { BookingsTable } from "./bookings.js";
import { DayView } from "./dayview.js";
import { announce, byId, h, showError, toast } from "./dom.js";
import { BookingFeed, forgetLastEventId } from "./feed.js";
import { customerName, formatDate, formatTime, todayIn } from "./format.js";
import { ResourcesPanel } from "./resources.js";
import { ServicesPanel } from "./services.js";
import { SettingsForm } from "./settings.js";
import { WebhooksPanel } from "./webhooks.js";

const TOKEN_KEY = "booking-admin.token";
const PAGE_SIZE = 200;
/** How long the first listing waits for the live feed, so nothing slips between the two. */
const FEED_WAIT_MS = 3000;
const BASE_TITLE = document.title;
const VIEWS = {
  bookings: "bookings-view",
  day: "day-view",
  resources: "resources-view",
  services: "services-view",
  webhooks: "webhooks-view",
  settings: "settings-view",
};

const session = {
  api: null,
  feed: null,
  settings: null,
  resources: [], // the resources last listed (names for the services' "performed by")
  listed: false, // a listing arrived; until then feed messages wait in `queue`
  loading: 0, // listings in flight: messages wait for them too, so a stale one cannot undo them
  queue: [],
  nextPage: null,
  unseen: 0,
  countdown: 0,
};

const today = () => todayIn(session.settings?.timezone || "UTC");

const table = new BookingsTable({
  body: byId("bookings-body"),
  empty: byId("bookings-empty"),
  loading: byId("bookings-loading"),
  summary: byId("bookings-summary"),
  filter: byId("status-filter"),
  onCancel: (id) => cancelBooking(id),
});

/** The resources with their plans (kept for the services' "performed by" too). */
async function listResources() {
  const answer = await session.api.listResources();
  session.resources = answer.data;
  return answer.data;
}

const dayView = new DayView({
  api: {
    availability: (d) => session.api.availability(d),
    listBookings: (q) => session.api.listBookings(q),
    resources: listResources,
  },
  settings: () => session.settings,
  today,
  onCancel: (id, booking) => cancelBooking(id, booking),
  elements: {
    section: byId("day-view"),
    form: byId("day-form"),
    date: byId("day-date"),
    prev: byId("day-prev"),
    next: byId("day-next"),
    todayButton: byId("day-today"),
    summary: byId("day-summary"),
    closed: byId("day-closed"),
    error: byId("day-error"),
    board: byId("day-board"),
    empty: byId("day-empty"),
  },
});

const resourcesPanel = new ResourcesPanel({
  api: {
    listResources: () => session.api.listResources(),
    createResource: (fields) => session.api.createResource(fields),
    updateResource: (id, changes) => session.api.updateResource(id, changes),
    replacePlan: (id, plan) => session.api.replacePlan(id, plan),
    setException: (id, date, intervals) => session.api.setException(id, date, intervals),
    removeException: (id, date) => session.api.removeException(id, date),
  },
  onChanged: (resources) => {
    session.resources = resources;
  },
  elements: {
    addForm: byId("resource-add-form"),
    newName: byId("resource-new-name"),
    addButton: byId("resource-add"),
    error: byId("resources-error"),
    body: byId("resources-body"),
    empty: byId("resources-empty"),
    editor: byId("plan-editor"),
    planTitle: byId("plan-title"),
    planForm: byId("plan-form"),
    planDays: byId("plan-days"),
    planError: byId("plan-error"),
    planSave: byId("plan-save"),
    planReset: byId("plan-reset"),
    planStatus: byId("plan-status"),
    planStranded: byId("plan-stranded"),
    planStrandedList: byId("plan-stranded-list"),
    exceptions: byId("exceptions-list"),
    exceptionsEmpty: byId("exceptions-empty"),
    exceptionForm: byId("exception-form"),
    exceptionDate: byId("exception-date"),
    exceptionClosed: byId("exception-closed"),
    exceptionIntervals: byId("exception-intervals"),
    exceptionError: byId("exception-error"),
    exceptionSave: byId("exception-save"),
    exceptionStranded: byId("exception-stranded"),
    exceptionStrandedList: byId("exception-stranded-list"),
  },
});

const servicesPanel = new ServicesPanel({
  api: {
    listServices: () => session.api.listServices(),
    createService: (fields) => session.api.createService(fields),
    updateService: (id, changes) => session.api.updateService(id, changes),
  },
  resources: () => session.resources,
  elements: {
    newButton: byId("service-new"),
    error: byId("services-error"),
    body: byId("services-body"),
    empty: byId("services-empty"),
    form: byId("service-form"),
    title: byId("service-form-title"),
    performers: byId("service-performers"),
    formError: byId("service-error"),
    status: byId("service-status"),
    save: byId("service-save"),
    cancel: byId("service-cancel"),
    stranded: byId("service-stranded"),
    strandedList: byId("service-stranded-list"),
  },
});

const webhooksPanel = new WebhooksPanel({
  api: {
    listWebhooks: () => session.api.listWebhooks(),
    createWebhook: (fields) => session.api.createWebhook(fields),
    updateWebhook: (id, changes) => session.api.updateWebhook(id, changes),
    deleteWebhook: (id) => session.api.deleteWebhook(id),
    rotateWebhookSecret: (id) => session.api.rotateWebhookSecret(id),
    webhookDeliveries: (id, page) => session.api.webhookDeliveries(id, page),
    replayWebhook: (id, which) => session.api.replayWebhook(id, which),
  },
  timeZone: () => session.settings?.timezone || "UTC",
  elements: {
    newButton: byId("webhook-new"),
    refresh: byId("webhooks-refresh"),
    error: byId("webhooks-error"),
    body: byId("webhooks-body"),
    empty: byId("webhooks-empty"),
    secret: byId("webhook-secret"),
    secretFor: byId("webhook-secret-for"),
    secretValue: byId("webhook-secret-value"),
    secretCopy: byId("webhook-secret-copy"),
    secretDone: byId("webhook-secret-done"),
    form: byId("webhook-form"),
    title: byId("webhook-form-title"),
    events: byId("webhook-events"),
    formError: byId("webhook-error"),
    status: byId("webhook-status"),
    save: byId("webhook-save"),
    cancel: byId("webhook-cancel"),
    log: byId("webhook-log"),
    logTitle: byId("webhook-log-title"),
    logError: byId("webhook-log-error"),
    logBody: byId("webhook-log-body"),
    logEmpty: byId("webhook-log-empty"),
    logMore: byId("webhook-log-more"),
    logRefresh: byId("webhook-log-refresh"),
    replayForm: byId("webhook-replay-form"),
    replaySince: byId("webhook-replay-since"),
    deleteDialog: byId("webhook-delete-dialog"),
    deleteText: byId("webhook-delete-text"),
  },
});

const settingsForm = new SettingsForm({
  api: { updateSettings: (changes) => session.api.updateSettings(changes) },
  elements: {
    form: byId("settings-form"),
    offDays: byId("off-days"),
    timezones: byId("timezones"),
    closedDates: byId("closed-dates"),
    closedDatesEmpty: byId("closed-dates-empty"),
    newDate: byId("closed-date-new"),
    addDate: byId("closed-date-add"),
    error: byId("settings-error"),
    status: byId("settings-status"),
    save: byId("settings-save"),
    reset: byId("settings-reset"),
    stranded: byId("stranded"),
    strandedList: byId("stranded-list"),
  },
  onSaved: (settings) => {
    session.settings = settings;
    table.setToday(today(), session.settings?.timezone);
    loadBookings();
  },
});

// --- signing in and out ----------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const input = byId("token");
  const button = byId("sign-in-submit");
  const token = input.value.trim();
  if (!token) {
    showError(byId("sign-in-error"), "Enter the admin token.");
    input.focus();
    return;
  }
  button.disabled = true;
  showError(byId("sign-in-error"), "");
  try {
    const answer = await new AdminApi(token).getSettings();
    sessionStorage.setItem(TOKEN_KEY, token);
    input.value = "";
    await startSession(token, answer.data);
  } catch (error) {
    const message = error instanceof ApiError && error.status === 401
      ? "That token was not accepted. Check it and try again."
      : error.message;
    showError(byId("sign-in-error"), message);
    input.focus();
  } finally {
    button.disabled = false;
  }
}

function signOut(message = "") {
  session.feed?.stop();
  Object.assign(session, {
    api: null, feed: null, settings: null, resources: [], listed: false, loading: 0, queue: [], nextPage: null,
  });
  sessionStorage.clear();
  table.reset();
  webhooksPanel.reset();
  history.replaceState(null, "", location.pathname);
  document.title = BASE_TITLE;
  byId("session-bar").hidden = true;
  byId("tabs").hidden = true;
  for (const id of Object.values(VIEWS)) byId(id).hidden = true;
  byId("sign-in-view").hidden = false;
  showError(byId("sign-in-error"), message);
  byId("token").focus();
}

async function startSession(token, settings) {
  session.api = new AdminApi(token, {
    onUnauthorized: () => signOut("You were signed out: the server no longer accepts this token."),
  });
  byId("sign-in-view").hidden = true;
  byId("session-bar").hidden = false;
  byId("tabs").hidden = false;
  try {
    session.settings = settings || (await session.api.getSettings()).data;
  } catch (error) {
    if (!session.api) return; // signed out (token refused)
    showError(byId("bookings-error"), `Could not load the settings: ${error.message}`);
  }
  if (!session.api) return;
  settingsForm.fill(session.settings);
  table.setToday(today(), session.settings?.timezone);
  route({ focus: false });
  // A fresh page loads a fresh listing after the feed is up, so it has nothing to resume; an
  // event id kept from before (another database behind the same address, say) could only hide
  // new events.
  forgetLastEventId();
  const firstContact = new Promise((resolve) => {
    setTimeout(resolve, FEED_WAIT_MS);
    session.feed = new BookingFeed(token, {
      onEvent: receive,
      onStatus: showConnection,
      onOpen: ({ resumed }) => {
        resolve();
        // Without an event id to resume from, whatever happened while away is unknown: reload.
        if (!resumed && session.listed) loadBookings();
      },
      onRefused: () => {
        resolve();
        session.api?.getSettings().catch(() => {}); // signs out if the token is refused
      },
    });
    session.feed.start();
  });
  await firstContact;
  if (session.api) await loadBookings();
}

// --- bookings --------------------------------------------------------------------------------

async function loadBookings() {
  const api = session.api;
  if (!api) return;
  session.loading += 1;
  try {
    const answer = await api.listBookings({ from: today(), page: 1, pageSize: PAGE_SIZE });
    if (api !== session.api) return;
    table.replaceAll(answer.data, answer.total);
    session.nextPage = answer.data.length < answer.total ? 2 : null;
    showError(byId("bookings-error"), "");
  } catch (error) {
    if (api !== session.api) return;
    showError(byId("bookings-error"), `Could not load bookings: ${error.message}`);
  } finally {
    if (api === session.api) {
      byId("load-more").hidden = session.nextPage === null;
      session.listed = true;
      session.loading -= 1;
      // Replayed on top of the listing: created is idempotent and a cancellation is final.
      if (!session.loading) for (const message of session.queue.splice(0)) receive(message);
    }
  }
}

async function loadMore() {
  const api = session.api;
  if (!api || session.nextPage === null) return;
  const button = byId("load-more");
  button.disabled = true;
  try {
    const answer = await api.listBookings({ from: today(), page: session.nextPage, pageSize: PAGE_SIZE });
    table.addPage(answer.data, answer.total);
    session.nextPage = answer.page * answer.page_size < answer.total ? answer.page + 1 : null;
  } catch (error) {
    toast(`Could not load more bookings: ${error.message}`, "error");
  } finally {
    button.disabled = false;
    button.hidden = session.nextPage === null;
  }
}

/** One message from the live feed. */
function receive(message) {
  if (!session.listed || session.loading) {
    session.queue.push(message);
    return;
  }
  webhooksPanel.eventArrived();
  const booking = message.data;
  if (!booking) return;
  if (message.type === "booking_created") {
    const isNew = table.upsert(booking, { highlight: true });
    if (isNew) {
      const name = customerName(booking);
      announce(`New booking: ${booking.service_name}, ${formatDate(booking.booking_date)} at ${formatTime(booking.booking_time)}${name ? `, ${name}` : ""}.`);
      if (document.hidden) {
        session.unseen += 1;
        document.title = `(${session.unseen}) ${BASE_TITLE}`;
      }
    }
  } else if (message.type === "booking_held") {
    table.upsert(booking, { highlight: true });
    announce(`Held: ${booking.service_name}, ${formatDate(booking.booking_date)} at ${formatTime(booking.booking_time)}.`);
  } else if (message.type === "booking_cancelled" || message.type === "hold_released") {
    table.upsert(booking);
  } else if (message.type === "booking_rescheduled") {
    const previous = booking.previous;
    table.upsert(booking);
    table.markMoved(booking.id, previous);
    if (previous) {
      const name = customerName(booking);
      const text = `Booking moved: ${booking.service_name}${name ? ` for ${name}` : ""}, from `
        + `${formatDate(previous.booking_date)} at ${formatTime(previous.booking_time)} to `
        + `${formatDate(booking.booking_date)} at ${formatTime(booking.booking_time)}.`;
      announce(text);
      toast(text, "info");
      if (previous.booking_date !== booking.booking_date) {
        dayView.refreshIfShowing(previous.booking_date);
      }
    }
  }
  dayView.refreshIfShowing(booking.booking_date);
}

async function cancelBooking(id, known) {
  const booking = table.get(id) || known;
  if (!booking || !session.api) return;
  const dialog = byId("cancel-dialog");
  const name = customerName(booking);
  byId("cancel-dialog-text").replaceChildren(
    h("strong", { text: booking.service_name }),
    ` on ${formatDate(booking.booking_date)} at ${formatTime(booking.booking_time)}`,
    name ? " for " : "",
    name ? h("strong", { text: name }) : "",
    booking.user_details?.phone ? ` (${booking.user_details.phone})` : "",
    ".",
  );
  const opener = document.activeElement;
  dialog.returnValue = "";
  dialog.showModal();
  await new Promise((resolve) => dialog.addEventListener("close", resolve, { once: true }));
  if (dialog.returnValue !== "cancel") {
    opener?.focus?.();
    return;
  }
  try {
    const answer = await session.api.cancelBooking(id);
    table.upsert(answer.data);
    toast("Booking cancelled. The slot is free again.", "success");
    dayView.refreshIfShowing(answer.data.booking_date);
  } catch (error) {
    toast(`Could not cancel: ${error.message}`, "error");
    if (error instanceof ApiError && error.code === "booking_not_active") loadBookings();
  }
  byId("bookings-title").focus();
}

// --- connection indicator --------------------------------------------------------------------

function showConnection({ state, retryInMs = 0 }) {
  const indicator = byId("connection");
  const label = byId("connection-label");
  const retry = byId("reconnect-now");
  clearInterval(session.countdown);
  indicator.dataset.state = state;
  retry.hidden = state !== "waiting";
  const texts = { connecting: "Connecting…", live: "Live", stopped: "Offline" };
  if (state !== "waiting") {
    label.textContent = texts[state] || state;
    if (state === "live") announce("Live updates connected.");
    return;
  }
  announce("Live updates lost. Reconnecting.");
  const until = Date.now() + retryInMs;
  const tick = () => {
    const seconds = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    label.textContent = `Disconnected · retry in ${seconds} s`;
  };
  tick();
  session.countdown = setInterval(tick, 1000);
}

// --- views -----------------------------------------------------------------------------------

function route({ focus = true } = {}) {
  if (!session.api) return;
  const [name, argument] = location.hash.replace(/^#/, "").split("=");
  const view = VIEWS[name] ? name : "bookings";
  for (const [key, id] of Object.entries(VIEWS)) byId(id).hidden = key !== view;
  for (const link of document.querySelectorAll(".tabs__link")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (view === "day") {
    const date = /^\d{4}-\d{2}-\d{2}$/.test(argument || "") ? argument : "";
    dayView.show(date);
  }
  if (view === "resources") resourcesPanel.reload();
  if (view === "services") {
    listResources().catch(() => null).finally(() => servicesPanel.reload());
  }
  if (view === "webhooks") webhooksPanel.reload();
  if (view === "settings" && session.settings) settingsForm.fill(session.settings);
  if (focus) byId(`${view}-title`).focus();
}

function checkDateRollover() {
  if (!session.api || !session.settings) return;
  if (table.today !== today()) {
    table.setToday(today(), session.settings?.timezone);
    loadBookings();
  }
}

function init() {
  // The page takes nothing from its URL: drop a query string (a token pasted into the address
  // bar, say) before anything else can read or log it.
  if (location.search) history.replaceState(null, "", location.pathname + location.hash);
  byId("sign-in-form").addEventListener("submit", signIn);
  byId("sign-out").addEventListener("click", () => signOut());
  byId("refresh-bookings").addEventListener("click", () => loadBookings());
  byId("load-more").addEventListener("click", loadMore);
  byId("reconnect-now").addEventListener("click", () => session.feed?.reconnectNow());
  window.addEventListener("hashchange", () => route());
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && session.unseen) {
      session.unseen = 0;
      document.title = BASE_TITLE;
    }
  });
  setInterval(checkDateRollover, 60000);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) startSession(token);
  else byId("token").focus();
}

init();
