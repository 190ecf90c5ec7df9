// The day view: every slot of one date, free or taken (and by whom), from the public
// availability endpoint plus the admin listing for that date.

import { h, showError } from "./dom.js";
import {
  addDays, customerName, formatLongDate, formatTime, isActive, minutesOf, timeOf,
} from "./format.js";

const CLOSED_REASONS = {
  off_day: "Closed: a weekly day off.",
  closed_date: "Closed: this date is marked closed in the settings.",
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
    if (this.date && this.date === date && !this.el.section.hidden) this.refresh();
  }

  async refresh() {
    const date = this.date;
    const generation = ++this.generation;
    this.el.section.setAttribute("aria-busy", "true");
    try {
      const [availability, listing] = await Promise.all([
        this.api.availability(date),
        this.api.listBookings({ from: date, to: date, pageSize: 200 }),
      ]);
      if (generation !== this.generation) return;
      showError(this.el.error, "");
      const day = (availability.days || []).find((d) => d.date === date) || availability.days?.[0];
      this.render(date, day || { free: [], taken: [], closed: null }, listing.data || []);
    } catch (error) {
      if (generation !== this.generation) return;
      showError(this.el.error, `Could not load ${date}: ${error.message}`);
    } finally {
      if (generation === this.generation) this.el.section.removeAttribute("aria-busy");
    }
  }

  render(date, day, bookings) {
    const free = new Set(day.free || []);
    const taken = new Set(day.taken || []);
    const active = bookings.filter(isActive);
    const times = new Set([...slotStarts(this.settings()), ...free, ...taken]);
    for (const booking of active) times.add(booking.booking_time);
    const ordered = [...times].sort((a, b) => minutesOf(a) - minutesOf(b));

    this.el.closed.hidden = !day.closed;
    this.el.closed.textContent = CLOSED_REASONS[day.closed] || (day.closed ? `Closed (${day.closed}).` : "");
    this.el.summary.textContent = [
      formatLongDate(date),
      date === this.today() ? "today" : "",
      `${free.size} free`,
      `${taken.size} taken`,
      this.settings()?.timezone ? `times in ${this.settings().timezone}` : "",
    ].filter(Boolean).join(" · ");

    this.el.slots.replaceChildren(...ordered.map((time) => {
      const here = active.filter((booking) => booking.booking_time === time);
      let state = "unavailable";
      if (free.has(time)) state = "free";
      else if (taken.has(time) || here.length) state = "taken";
      return this.slot(time, state, here);
    }));
    if (!ordered.length) {
      this.el.slots.append(h("li", { class: "slot slot--empty", text: "No slots on this day." }));
    }
  }

  slot(time, state, bookings) {
    const labels = { free: "Free", taken: "Taken", unavailable: "Not bookable" };
    return h("li", { class: `slot slot--${state}`, dataset: { slot: time, state } },
      h("div", { class: "slot__head" },
        h("span", { class: "slot__time", text: formatTime(time) }),
        h("span", { class: "slot__state", text: labels[state] })),
      bookings.map((booking) => h("div", { class: "slot__booking", dataset: { bookingId: booking.id } },
        h("p", { class: "slot__service", text: booking.service_name }),
        h("p", { class: "slot__customer muted" },
          customerName(booking) || "No name", " · ", booking.user_details?.phone || ""),
        h("button", {
          type: "button",
          class: "button button--danger-ghost button--small",
          "aria-label": `Cancel booking ${booking.id} at ${formatTime(time)}`,
          dataset: { action: "cancel", bookingId: booking.id },
          onclick: () => this.onCancel(booking.id, booking),
          text: "Cancel",
        }))),
    );
  }
}
