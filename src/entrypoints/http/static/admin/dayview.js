// The day view: one column per resource (person or room), one row per slot start. A cell is a
// booking of that resource, a free start (the availability answer's free_resources), a break
// or closed time from the resource's plan for the date, or a start that cannot be booked now.

import { h, showError } from "./dom.js";
import {
  addDays, customerName, formatLongDate, formatTime, isActive, minutesOf, occupies, statusLabel,
  timeOf,
} from "./format.js";
import { breaksIn, exceptionOn, gridOf, intervalText, intervalsOn, placeOf } from "./plans.js";

const CLOSED_REASONS = {
  off_day: "Closed: a weekly day off.",
  closed_date: "Closed: this date is marked closed in the settings.",
};

const STATE_LABELS = {
  free: "Free",
  taken: "Taken",
  occupied: "Occupied",
  break: "Break",
  closed: "Closed",
  unavailable: "Not bookable",
};

/** Slot starts the settings define: from opening time, every slot length, ending by closing. */
export function slotStarts(settings) {
  if (!settings) return [];
  const open = minutesOf(settings.open_time);
  const close = minutesOf(settings.close_time);
  const step = Number(settings.slot_minutes);
  if (!(step > 0) || !(close > open)) return [];
  const starts = [];
  for (let start = open; start + step <= close; start += step) starts.push(timeOf(start));
  return starts;
}

/** Minutes a booking lasts, from its service (the slot length for a free-text one). */
const durationOf = (booking, step) => Number(booking.service?.duration_minutes) || step;

/** The resources to show: the active ones, and inactive ones that still have bookings. */
function columnsFor(resources, bookings) {
  return resources.filter((resource) => resource.active || bookings.some((b) => b.resource?.id === resource.id));
}

export class DayView {
  constructor({ api, settings, today, onCancel, elements }) {
    this.api = api;
    this.settings = settings; // () => the current settings view
    this.today = today; // () => today's date in the business time zone
    this.onCancel = onCancel;
    this.el = elements;
    this.date = "";
    this.generation = 0;
    const go = (date) => this.show(date);
    elements.date.addEventListener("change", () => elements.date.value && go(elements.date.value));
    elements.prev.addEventListener("click", () => go(addDays(this.date || this.today(), -1)));
    elements.next.addEventListener("click", () => go(addDays(this.date || this.today(), 1)));
    elements.todayButton.addEventListener("click", () => go(this.today()));
    elements.form.addEventListener("submit", (event) => event.preventDefault());
  }

  show(date) {
    this.date = date || this.date || this.today();
    this.el.date.value = this.date;
    return this.refresh();
  }

  /** Reload if the view shows `date` (after a booking or cancellation on that date). */
  refreshIfShowing(date) {
    if (this.date && (!date || this.date === date) && !this.el.section.hidden) this.refresh();
  }

  async refresh() {
    const date = this.date;
    const generation = ++this.generation;
    this.el.section.setAttribute("aria-busy", "true");
    try {
      const [availability, listing, resources] = await Promise.all([
        this.api.availability(date),
        this.api.listBookings({ from: date, to: date, pageSize: 200 }),
        this.api.resources(),
      ]);
      if (generation !== this.generation) return;
      showError(this.el.error, "");
      const day = (availability.days || []).find((d) => d.date === date) || availability.days?.[0];
      this.render(date, day || { free: [], taken: [], free_resources: [], closed: null },
        listing.data || [], resources);
    } catch (error) {
      if (generation !== this.generation) return;
      showError(this.el.error, `Could not load ${date}: ${error.message}`);
    } finally {
      if (generation === this.generation) this.el.section.removeAttribute("aria-busy");
    }
  }

  render(date, day, bookings, resources) {
    const settings = this.settings();
    const step = Number(settings?.slot_minutes) || 60;
    const active = bookings.filter(occupies);
    const shown = columnsFor(resources, active);
    // A booking without a resource (an answer recorded before resources existed) is the first's.
    const holder = (booking) => booking.resource?.id ?? shown[0]?.id;
    const columns = shown.map((resource) => ({
      resource,
      intervals: day.closed ? null : intervalsOn(resource, date),
      bookings: active.filter((booking) => holder(booking) === resource.id),
    }));
    const freeAt = new Map((day.free || []).map((time, index) => [minutesOf(time), new Set(day.free_resources?.[index] || [])]));

    const times = new Set(slotStarts(settings).map(minutesOf));
    for (const time of [...(day.free || []), ...(day.taken || [])]) times.add(minutesOf(time));
    for (const column of columns) {
      for (const start of gridOf(column.intervals || [], step)) times.add(start);
      for (const booking of column.bookings) times.add(minutesOf(booking.booking_time));
    }
    const ordered = [...times].sort((a, b) => a - b);

    this.el.closed.hidden = !day.closed;
    this.el.closed.textContent = CLOSED_REASONS[day.closed] || (day.closed ? `Closed (${day.closed}).` : "");
    const freeCount = (day.free || []).length;
    this.el.summary.textContent = [
      formatLongDate(date),
      date === this.today() ? "today" : "",
      `${columns.length} ${columns.length === 1 ? "resource" : "resources"}`,
      `${freeCount} free ${freeCount === 1 ? "start" : "starts"}`,
      `${active.length} booked`,
      settings?.timezone ? `times in ${settings.timezone}` : "",
    ].filter(Boolean).join(" · ");

    const head = h("tr", {},
      h("th", { scope: "col", class: "board__corner", text: "Time" }),
      columns.map((column) => this.columnHead(date, column)));
    const rows = ordered.map((at) => h("tr", {},
      h("th", { scope: "row", class: "board__time", text: formatTime(timeOf(at)) }),
      columns.map((column) => this.cell(at, column, freeAt, step, day))));
    this.el.board.replaceChildren(h("thead", {}, head), h("tbody", {}, rows));
    this.el.empty.hidden = ordered.length > 0;
  }

  columnHead(date, { resource, intervals }) {
    let hours = "";
    let breaks = [];
    if (intervals) {
      hours = intervals.length ? intervals.map(intervalText).join(", ") : "Closed";
      breaks = breaksIn(intervals);
    }
    const exception = intervals && exceptionOn(resource, date);
    return h("th", { scope: "col", class: "board__resource", dataset: { resourceId: resource.id } },
      h("span", { class: "board__name", text: resource.name }),
      !resource.active && h("span", { class: "tag tag--muted", text: "Inactive" }),
      hours && h("span", { class: "board__hours muted", text: hours }),
      breaks.map((gap) => h("span", { class: "board__break", dataset: { break: intervalText(gap) }, text: `Break ${intervalText(gap)}` })),
      exception && h("span", { class: "tag", text: "Exception this date" }));
  }

  cell(at, { resource, intervals, bookings }, freeAt, step, day) {
    const time = timeOf(at);
    const starting = bookings.filter((booking) => minutesOf(booking.booking_time) === at);
    const covering = bookings.find((booking) => {
      const start = minutesOf(booking.booking_time);
      return start < at && at < start + durationOf(booking, step);
    });
    let state = "unavailable";
    if (starting.length) state = "taken";
    else if (covering) state = "occupied";
    else if (freeAt.get(at)?.has(resource.id)) state = "free";
    else if (day.closed) state = "closed";
    else if (intervals) {
      const place = placeOf(intervals, at);
      if (place !== "open") state = place;
    }
    const label = covering && state === "occupied"
      ? `Occupied (from ${formatTime(covering.booking_time)})`
      : STATE_LABELS[state];
    return h("td", {
      class: `cell cell--${state}`,
      dataset: { slot: time, state, resourceId: resource.id },
    },
    h("span", { class: "cell__state", text: label }),
    starting.map((booking) => this.booking(booking, time, step)));
  }

  booking(booking, time, step) {
    const until = timeOf(minutesOf(booking.booking_time) + durationOf(booking, step));
    return h("div", { class: "cell__booking", dataset: { bookingId: booking.id } },
      h("p", { class: "cell__service", text: booking.service?.name || booking.service_name }),
      h("p", { class: "cell__when muted", text: `${formatTime(time)}–${formatTime(until)}` }),
      h("p", { class: "cell__customer muted" },
        customerName(booking) || "No name", " · ", booking.user_details?.phone || ""),
      booking.status === "held" && h("p", {
        class: "cell__hold badge badge--held", text: statusLabel(booking, this.settings()?.timezone),
      }),
      isActive(booking) && h("button", {
        type: "button",
        class: "button button--danger-ghost button--small",
        "aria-label": `Cancel booking ${booking.id} at ${formatTime(time)}`,
        dataset: { action: "cancel", bookingId: booking.id },
        onclick: () => this.onCancel(booking.id, booking),
        text: "Cancel",
      }));
  }
}
