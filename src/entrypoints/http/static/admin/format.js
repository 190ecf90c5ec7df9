// Dates and times. Booking dates and times are wall-clock values in the business time zone,
// so they are formatted as such (a date-only value is pinned to UTC to stop the browser's own
// zone from shifting it by a day).

const DATE = new Intl.DateTimeFormat(undefined, {
  weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC",
});
const LONG_DATE = new Intl.DateTimeFormat(undefined, {
  weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "UTC",
});

function utcDate(isoDate) {
  const [year, month, day] = isoDate.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, day));
}

const SHORT_DATE = new Intl.DateTimeFormat(undefined, {
  weekday: "short", day: "numeric", month: "short", timeZone: "UTC",
});

export function formatDate(isoDate) {
  return DATE.format(utcDate(isoDate));
}

/** Like formatDate, without the year when it is `today`'s year. */
export function formatNearDate(isoDate, today) {
  const sameYear = today && isoDate.slice(0, 4) === today.slice(0, 4);
  return (sameYear ? SHORT_DATE : DATE).format(utcDate(isoDate));
}

export function formatLongDate(isoDate) {
  return LONG_DATE.format(utcDate(isoDate));
}

/** "14:00:00" → "14:00". */
export function formatTime(time) {
  return String(time).slice(0, 5);
}

/** Today's date (YYYY-MM-DD) in `timeZone`. */
export function todayIn(timeZone) {
  try {
    return new Intl.DateTimeFormat("en-CA", {
      timeZone, year: "numeric", month: "2-digit", day: "2-digit",
    }).format(new Date());
  } catch {
    return new Date().toISOString().slice(0, 10);
  }
}

export function addDays(isoDate, days) {
  const date = utcDate(isoDate);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** "Today", "Tomorrow" or nothing, relative to `today`. */
export function relativeDay(isoDate, today) {
  if (isoDate === today) return "Today";
  if (isoDate === addDays(today, 1)) return "Tomorrow";
  return "";
}

/** Minutes since midnight of "HH:MM" or "HH:MM:SS". */
export function minutesOf(time) {
  const [hours, minutes] = String(time).split(":").map(Number);
  return hours * 60 + minutes;
}

/** "HH:MM:SS" for minutes since midnight. */
export function timeOf(minutes) {
  const pad = (value) => String(value).padStart(2, "0");
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}:00`;
}

export function customerName(booking) {
  const user = booking.user_details || {};
  return [user.first_name, user.last_name].filter(Boolean).join(" ");
}

export const STATUS_LABELS = {
  upcoming: "Upcoming", pending: "Pending", completed: "Completed", cancelled: "Cancelled",
  held: "Held", released: "Released", expired: "Expired",
};

/** A hold's badge: "Held until 14:05" (its expiry in the business time zone, if known). */
export function statusLabel(booking, timeZone = "") {
  if (booking.status !== "held" || !booking.hold_expires_at) {
    return STATUS_LABELS[booking.status] || booking.status;
  }
  const expires = new Date(booking.hold_expires_at);
  if (Number.isNaN(expires.getTime())) return STATUS_LABELS.held;
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  try {
    if (timeZone) options.timeZone = timeZone;
    return `Held until ${expires.toLocaleTimeString("en-GB", options)}`;
  } catch {
    delete options.timeZone;
    return `Held until ${expires.toLocaleTimeString("en-GB", options)}`;
  }
}

export const isActive = (booking) => booking.status === "upcoming" || booking.status === "pending";

/** Whether it keeps its slot now: an active booking, or a hold whose time is not up. */
export const occupies = (booking) => isActive(booking)
  || (booking.status === "held" && !(Date.parse(booking.hold_expires_at) <= Date.now()));

/** Soonest first, then by id, as the admin API orders them. */
export function compareBookings(a, b) {
  const byStart = String(a.starts_at || `${a.booking_date}T${a.booking_time}`)
    .localeCompare(String(b.starts_at || `${b.booking_date}T${b.booking_time}`));
  return byStart || a.id - b.id;
}
