// The bookings table: today's and upcoming bookings (with the resource each holds and the
// service booked), kept current by the live feed.
// Rows are keyed by booking id and reconciled in place, so a live update neither rebuilds the
// table nor steals focus from the row someone is working on.

import { h } from "./dom.js";
import {
  compareBookings, customerName, formatDate, formatNearDate, formatTime, isActive,
  occupies, relativeDay, statusLabel,
} from "./format.js";

/** How long a moved booking says where it was. */
const MOVED_NOTE_MS = 10000;

const FILTERS = {
  all: () => true,
  active: occupies,
  upcoming: (booking) => booking.status === "upcoming",
  pending: (booking) => booking.status === "pending",
  completed: (booking) => booking.status === "completed",
  cancelled: (booking) => booking.status === "cancelled",
  held: (booking) => booking.status === "held",
};

/** A phone as a tel: link only when it is plainly a phone number; otherwise just text. */
function phoneCell(phone) {
  const text = String(phone || "");
  if (/^\+?\d{3,20}$/.test(text)) return h("a", { href: `tel:${text}`, class: "phone", text });
  return text || h("span", { class: "muted", text: "—" });
}

export class BookingsTable {
  constructor({ body, empty, loading, summary, filter, onCancel }) {
    this.body = body;
    this.empty = empty;
    this.loading = loading;
    this.summary = summary;
    this.filter = filter;
    this.onCancel = onCancel;
    this.bookings = new Map();
    this.rows = new Map(); // id → {element, version}
    this.fresh = new Set(); // ids that arrived live and are highlighted
    this.moved = new Map(); // id → where it was, for bookings just moved (shown briefly)
    this.today = "";
    this.timeZone = "";
    this.total = null;
    filter.addEventListener("change", () => this.render());
  }

  reset() {
    this.bookings.clear();
    this.rows.clear();
    this.fresh.clear();
    this.moved.clear();
    this.body.replaceChildren();
    this.total = null;
    this.loading.hidden = false;
    this.empty.hidden = true;
    this.summary.textContent = "";
  }

  /** Today's date and the zone booking times are in (both from the business settings). */
  setToday(today, timeZone = this.timeZone) {
    this.timeZone = timeZone;
    if (today === this.today) return;
    this.today = today;
    this.rows.clear(); // "Today"/"Tomorrow" labels depend on it
    this.body.replaceChildren();
  }

  /** Replace the contents with a fresh listing (the first page) from the API. */
  replaceAll(bookings, total) {
    this.bookings.clear();
    this.addPage(bookings, total);
  }

  addPage(bookings, total) {
    for (const booking of bookings) this.bookings.set(booking.id, booking);
    this.total = total;
    this.loading.hidden = true;
    this.render();
  }

  get(id) {
    return this.bookings.get(Number(id));
  }

  /** A booking from the feed or an API answer; returns true when it was not listed before. */
  upsert(booking, { highlight = false } = {}) {
    if (!booking || typeof booking.id !== "number") return false;
    if (this.today && booking.booking_date < this.today) return false;
    const known = this.bookings.has(booking.id);
    this.bookings.set(booking.id, booking);
    if (!known) {
      if (this.total !== null) this.total += 1;
      if (highlight) this.fresh.add(booking.id);
    }
    this.render();
    return !known;
  }

  /** Show for a while that a booking was moved, and from where (a booking_rescheduled). */
  markMoved(id, previous, forMs = MOVED_NOTE_MS) {
    if (!previous) return;
    const token = {};
    this.moved.set(id, { previous, token });
    this.render();
    setTimeout(() => {
      if (this.moved.get(id)?.token !== token) return; // moved again since
      this.moved.delete(id);
      this.render();
    }, forMs);
  }

  sorted() {
    return [...this.bookings.values()].sort(compareBookings);
  }

  render() {
    const matches = FILTERS[this.filter.value] || FILTERS.all;
    const visible = this.sorted().filter(matches);
    let cursor = this.body.firstElementChild;
    const wanted = new Set();
    for (const booking of visible) {
      const row = this.rowFor(booking);
      wanted.add(row);
      if (row === cursor) cursor = cursor.nextElementSibling;
      else this.body.insertBefore(row, cursor);
    }
    for (const row of [...this.body.children]) if (!wanted.has(row)) row.remove();
    this.empty.hidden = visible.length > 0 || !this.loading.hidden;
    this.empty.textContent = this.bookings.size
      ? "No bookings match this filter."
      : "No bookings from today on.";
    this.renderSummary(visible);
  }

  renderSummary(visible) {
    const all = [...this.bookings.values()];
    const todays = all.filter((b) => b.booking_date === this.today && isActive(b)).length;
    const active = all.filter(isActive).length;
    const parts = [
      `${visible.length} shown`,
      `${active} active`,
      `${todays} today`,
    ];
    if (this.fresh.size) parts.push(`${this.fresh.size} new since you signed in`);
    if (this.timeZone) parts.push(`times in ${this.timeZone}`);
    this.summary.textContent = parts.join(" · ");
  }

  rowFor(booking) {
    const version = JSON.stringify([
      booking, this.fresh.has(booking.id), this.moved.get(booking.id)?.previous ?? null,
    ]);
    const cached = this.rows.get(booking.id);
    if (cached && cached.version === version) return cached.element;
    // The old row (if any) stays in place until render() removes it as unwanted.
    const element = this.buildRow(booking);
    this.rows.set(booking.id, { element, version });
    return element;
  }

  buildRow(booking) {
    const name = customerName(booking);
    const phone = booking.user_details?.phone || "";
    const isNew = this.fresh.has(booking.id);
    const moved = this.moved.get(booking.id)?.previous;
    const relative = relativeDay(booking.booking_date, this.today);
    const when = `${formatDate(booking.booking_date)} at ${formatTime(booking.booking_time)}`;
    const classes = ["booking"];
    if (isNew) classes.push("is-new");
    if (moved) classes.push("is-moved");
    if (["cancelled", "released", "expired"].includes(booking.status)) classes.push("is-cancelled");
    if (booking.status === "held") classes.push("is-held");
    return h("tr", { class: classes.join(" "), dataset: { bookingId: booking.id, status: booking.status } },
      h("td", { class: "booking__date", dataset: { label: "Date" } },
        h("a", { href: `#day=${booking.booking_date}`, title: "Open the day view" },
          formatNearDate(booking.booking_date, this.today)),
        relative && h("span", { class: "tag", text: relative })),
      h("td", { class: "booking__time", dataset: { label: "Time" } }, formatTime(booking.booking_time)),
      h("td", { class: "booking__service", dataset: { label: "Service" } },
        h("span", { class: "booking__service-name", text: booking.service?.name || booking.service_name }),
        booking.service?.duration_minutes
          && h("span", { class: "booking__duration muted", text: ` · ${booking.service.duration_minutes} min` })),
      h("td", { class: "booking__resource", dataset: { label: "With" } },
        booking.resource
          ? h("span", { dataset: { resourceId: booking.resource.id }, text: booking.resource.name })
          : h("span", { class: "muted", text: "—" })),
      h("td", { class: "booking__customer", dataset: { label: "Customer" } },
        name ? h("span", { text: name }) : h("span", { class: "muted", text: "—" })),
      h("td", { class: "booking__phone", dataset: { label: "Phone" } }, phoneCell(phone)),
      h("td", { class: "booking__status", dataset: { label: "Status" } },
        h("span", { class: `badge badge--${booking.status}`, text: statusLabel(booking, this.timeZone) }),
        isNew && h("span", { class: "badge badge--new", text: "New" }),
        moved && h("span", {
          class: "badge badge--moved",
          text: `Moved from ${formatDate(moved.booking_date)} at ${formatTime(moved.booking_time)}`
            + (moved.resource && booking.resource && moved.resource.id !== booking.resource.id
              ? ` (${moved.resource.name})` : ""),
        })),
      h("td", { class: "booking__notes", dataset: { label: "Notes" } },
        booking.notes
          ? h("span", { class: "notes", title: booking.notes, text: booking.notes })
          : h("span", { class: "muted", text: "—" })),
      h("td", { class: "booking__actions" },
        isActive(booking) && h("button", {
          type: "button",
          class: "button button--danger-ghost button--small",
          "aria-label": `Cancel booking ${booking.id}: ${booking.service_name}, ${when}${name ? `, ${name}` : ""}`,
          dataset: { action: "cancel", bookingId: booking.id },
          onclick: () => this.onCancel(booking.id),
          text: "Cancel",
        })),
    );
  }
}
