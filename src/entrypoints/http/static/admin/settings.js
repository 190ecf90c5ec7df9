// The business settings form: opening hours, slot length, days off, time zone, horizon and
// closed dates. Only changed fields are sent (PATCH), so two admins editing different fields
// do not undo each other's work.

import { h, showError, toast } from "./dom.js";
import { customerName, formatDate, formatTime } from "./format.js";

const WEEKDAYS = [
  ["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"],
  ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"],
];

function timeZones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
}

const sameList = (a, b) => a.length === b.length && a.every((value, index) => value === b[index]);

export class SettingsForm {
  constructor({ api, elements, onSaved }) {
    this.api = api;
    this.el = elements;
    this.onSaved = onSaved;
    this.saved = null;
    this.closedDates = [];
    elements.offDays.replaceChildren(...WEEKDAYS.map(([value, label]) => h("label", { class: "weekday" },
      h("input", { type: "checkbox", name: "off_days", value }),
      h("span", { text: label.slice(0, 3), "aria-hidden": "true" }),
      h("span", { class: "visually-hidden", text: label }))));
    elements.timezones.replaceChildren(...timeZones().map((zone) => h("option", { value: zone })));
    elements.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    elements.reset.addEventListener("click", () => this.fill(this.saved));
    elements.addDate.addEventListener("click", () => this.addClosedDate());
    elements.newDate.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        this.addClosedDate();
      }
    });
  }

  /** Show `settings` (a settings view from the API) in the form. */
  fill(settings) {
    if (!settings) return;
    this.saved = settings;
    const form = this.el.form;
    form.elements.open_time.value = formatTime(settings.open_time);
    form.elements.close_time.value = formatTime(settings.close_time);
    form.elements.slot_minutes.value = settings.slot_minutes;
    form.elements.timezone.value = settings.timezone;
    form.elements.horizon_days.value = settings.horizon_days;
    for (const box of form.querySelectorAll('input[name="off_days"]')) {
      box.checked = (settings.off_days || []).includes(box.value);
    }
    this.closedDates = [...(settings.closed_dates || [])].sort();
    this.renderClosedDates();
    showError(this.el.error, "");
    this.el.status.textContent = "";
  }

  values() {
    const form = this.el.form;
    return {
      open_time: form.elements.open_time.value,
      close_time: form.elements.close_time.value,
      slot_minutes: Number(form.elements.slot_minutes.value),
      timezone: form.elements.timezone.value.trim(),
      horizon_days: Number(form.elements.horizon_days.value),
      off_days: [...form.querySelectorAll('input[name="off_days"]:checked')].map((box) => box.value),
      closed_dates: [...this.closedDates],
    };
  }

  changes() {
    const now = this.values();
    const before = this.saved || {};
    const changed = {};
    for (const [key, value] of Object.entries(now)) {
      const old = before[key];
      if (Array.isArray(value)) {
        if (!sameList([...value].sort(), [...(old || [])].sort())) changed[key] = value;
      } else if (key.endsWith("_time")) {
        if (value !== formatTime(old || "")) changed[key] = value;
      } else if (value !== old) changed[key] = value;
    }
    return changed;
  }

  renderClosedDates() {
    this.el.closedDates.replaceChildren(...this.closedDates.map((date) => h("li", { class: "chip" },
      h("span", { text: formatDate(date) }),
      h("button", {
        type: "button",
        class: "chip__remove",
        "aria-label": `Remove closed date ${formatDate(date)}`,
        onclick: () => {
          this.closedDates = this.closedDates.filter((d) => d !== date);
          this.renderClosedDates();
          this.el.newDate.focus();
        },
        text: "×",
      }))));
    this.el.closedDatesEmpty.hidden = this.closedDates.length > 0;
  }

  addClosedDate() {
    const date = this.el.newDate.value;
    if (!date) {
      showError(this.el.error, "Pick a date to add as closed.");
      this.el.newDate.focus();
      return;
    }
    showError(this.el.error, "");
    if (!this.closedDates.includes(date)) {
      this.closedDates = [...this.closedDates, date].sort();
      this.renderClosedDates();
    }
    this.el.newDate.value = "";
    this.el.status.textContent = "Not saved yet.";
  }

  async save() {
    const changes = this.changes();
    showError(this.el.error, "");
    this.el.stranded.hidden = true;
    if (!Object.keys(changes).length) {
      this.el.status.textContent = "Nothing to save.";
      return;
    }
    this.el.save.disabled = true;
    this.el.status.textContent = "Saving…";
    try {
      const answer = await this.api.updateSettings(changes);
      this.fill(answer.data);
      this.el.status.textContent = "Saved.";
      toast("Settings saved", "success");
      this.showStranded(answer.stranded_bookings || []);
      this.onSaved(answer.data);
    } catch (error) {
      this.el.status.textContent = "";
      showError(this.el.error, error.message);
    } finally {
      this.el.save.disabled = false;
    }
  }

  showStranded(bookings) {
    this.el.stranded.hidden = bookings.length === 0;
    this.el.strandedList.replaceChildren(...bookings.map((booking) => h("li", {},
      `${formatDate(booking.booking_date)} ${formatTime(booking.booking_time)} · `,
      h("span", { text: booking.service_name }), " · ",
      h("span", { text: customerName(booking) || "No name" }), " · ",
      h("span", { text: booking.user_details?.phone || "" }))));
  }
}
