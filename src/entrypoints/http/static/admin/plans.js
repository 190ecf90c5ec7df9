// Weekly plans and date exceptions as the admin API sends them: for a resource, the open
// intervals of one date, and the breaks between them. Times are wall-clock "HH:MM" in the
// business time zone; weekdays are ISO numbers (Monday 1 … Sunday 7).

import { formatTime, minutesOf } from "./format.js";

export const WEEKDAYS = [
  [1, "Monday"], [2, "Tuesday"], [3, "Wednesday"], [4, "Thursday"],
  [5, "Friday"], [6, "Saturday"], [7, "Sunday"],
];

/** ISO weekday (1-7) of a YYYY-MM-DD date. */
export function isoWeekday(isoDate) {
  const [year, month, day] = isoDate.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() || 7;
}

const sorted = (intervals) => [...(intervals || [])]
  .sort((a, b) => minutesOf(a.opens) - minutesOf(b.opens));

/** The date's exception, if the resource has one for `isoDate`. */
export function exceptionOn(resource, isoDate) {
  return (resource.exceptions || []).find((exception) => exception.date === isoDate) || null;
}

/** The open intervals of `resource` on `isoDate`: the date's exception, else the weekly plan. */
export function intervalsOn(resource, isoDate) {
  const exception = exceptionOn(resource, isoDate);
  if (exception) return sorted(exception.intervals);
  return sorted(resource.weekly_plan?.[String(isoWeekday(isoDate))]);
}

/** The gaps between consecutive open intervals: the breaks. */
export function breaksIn(intervals) {
  const breaks = [];
  for (let index = 1; index < intervals.length; index += 1) {
    const before = intervals[index - 1];
    const after = intervals[index];
    if (minutesOf(after.opens) > minutesOf(before.closes)) {
      breaks.push({ opens: before.closes, closes: after.opens });
    }
  }
  return breaks;
}

/** Where minute `at` lies for these intervals: open, break (between two) or closed. */
export function placeOf(intervals, at) {
  if (intervals.some((i) => minutesOf(i.opens) <= at && at < minutesOf(i.closes))) return "open";
  const first = intervals[0];
  const last = intervals[intervals.length - 1];
  if (first && minutesOf(first.opens) <= at && at < minutesOf(last.closes)) return "break";
  return "closed";
}

/** Slot starts of one resource: every `step` minutes from each interval's opening. */
export function gridOf(intervals, step) {
  const starts = [];
  if (!(step > 0)) return starts;
  for (const interval of intervals) {
    const close = minutesOf(interval.closes);
    for (let start = minutesOf(interval.opens); start + step <= close; start += step) starts.push(start);
  }
  return starts;
}

export const intervalText = (interval) => `${formatTime(interval.opens)}–${formatTime(interval.closes)}`;
