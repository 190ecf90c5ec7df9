// Staff and rooms: add, rename, activate or deactivate a resource; edit its weekly plan (per
// ISO weekday zero or more intervals, gaps are breaks) and its date exceptions. Saving a plan
// or an exception shows the bookings the server reports as stranded (they are kept).

import { h, showError, toast } from "./dom.js";
import { customerName, formatDate, formatTime } from "./format.js";
import { IntervalList } from "./intervals.js";
import { WEEKDAYS, intervalText } from "./plans.js";

/** "Mon 09:00–12:00, 13:00–17:00 · Sat 10:00–14:00": a plan in one line. */
function planSummary(resource) {
  const parts = WEEKDAYS.map(([day, name]) => {
    const intervals = resource.weekly_plan?.[String(day)] || [];
    return intervals.length ? `${name.slice(0, 3)} ${intervals.map(intervalText).join(", ")}` : "";
  }).filter(Boolean);
  return parts.join(" · ") || "No working hours";
}

export function strandedItems(bookings) {
  return bookings.map((booking) => h("li", { dataset: { bookingId: booking.id } },
    `${formatDate(booking.booking_date)} ${formatTime(booking.booking_time)} · `,
    h("span", { text: booking.service?.name || booking.service_name }), " · ",
    h("span", { text: booking.resource?.name || "" }), " · ",
    h("span", { text: customerName(booking) || "No name" }), " · ",
    h("span", { text: booking.user_details?.phone || "" })));
}

export class ResourcesPanel {
  constructor({ api, elements, onChanged }) {
    this.api = api;
    this.el = elements;
    this.onChanged = onChanged; // (resources) after any change the server accepted
    this.resources = [];
    this.selected = null;
    this.days = new Map(WEEKDAYS.map(([day, name]) => {
      const row = h("div", { class: "plan__day", dataset: { weekday: day } },
        h("span", { class: "plan__name", text: name }));
      const holder = h("div", { class: "intervals" });
      row.append(holder);
      elements.planDays.append(row);
      return [day, new IntervalList(holder, { label: name, onChange: () => this.dirty() })];
    }));
    this.exceptionHours = new IntervalList(elements.exceptionIntervals, { label: "Exception" });
    elements.addForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.add();
    });
    elements.planForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.savePlan();
    });
    elements.planReset.addEventListener("click", () => this.fillPlan());
    elements.exceptionClosed.addEventListener("change", () => {
      elements.exceptionIntervals.hidden = elements.exceptionClosed.checked;
      if (!elements.exceptionClosed.checked && !this.exceptionHours.values().length) {
        this.exceptionHours.set([{ opens: "09:00", closes: "13:00" }]);
      }
    });
    elements.exceptionForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveException();
    });
  }

  /** Show the resources of an admin API answer (and keep the open editor's resource). */
  fill(resources) {
    this.resources = resources || [];
    this.el.body.replaceChildren(...this.resources.map((resource) => this.row(resource)));
    this.el.empty.hidden = this.resources.length > 0;
    if (this.selected !== null) {
      const current = this.resources.find((resource) => resource.id === this.selected);
      if (current) this.renderExceptions(current);
      else this.close();
    }
  }

  async reload() {
    try {
      const answer = await this.api.listResources();
      showError(this.el.error, "");
      this.fill(answer.data);
      if (this.selected !== null && !this.el.planForm.dataset.dirty) this.fillPlan();
    } catch (error) {
      showError(this.el.error, `Could not load the resources: ${error.message}`);
    }
  }

  changed(resource) {
    const others = this.resources.filter((item) => item.id !== resource.id);
    this.fill([...others, resource].sort((a, b) => a.id - b.id));
    this.onChanged(this.resources);
  }

  row(resource) {
    const nameInput = h("input", {
      class: "input input--compact", value: resource.name, maxlength: "100",
      "aria-label": `Name of ${resource.name}`,
    });
    return h("tr", { class: "resource", dataset: { resourceId: resource.id, active: String(resource.active) } },
      h("td", { dataset: { label: "Name" } },
        h("form", {
          class: "inline-form resource__rename",
          onsubmit: (event) => {
            event.preventDefault();
            this.update(resource, { name: nameInput.value.trim() }, "Renamed.");
          },
        }, nameInput, h("button", { type: "submit", class: "button button--small", text: "Rename", "aria-label": `Rename ${resource.name}` }))),
      h("td", { class: "resource__hours muted", dataset: { label: "Hours" } },
        resource.follows_business_hours ? "Business hours (Settings)" : planSummary(resource)),
      h("td", { dataset: { label: "Status" } },
        h("span", { class: `badge ${resource.active ? "badge--completed" : "badge--cancelled"}`, text: resource.active ? "Active" : "Inactive" })),
      h("td", { class: "booking__actions" },
        h("button", {
          type: "button", class: "button button--small",
          "aria-label": `Edit the plan of ${resource.name}`,
          onclick: () => this.open(resource.id),
          text: "Plan and exceptions",
        }), " ",
        h("button", {
          type: "button", class: "button button--small button--ghost",
          "aria-label": `${resource.active ? "Deactivate" : "Activate"} ${resource.name}`,
          onclick: () => this.update(resource, { active: !resource.active }, resource.active ? "Deactivated: no new bookings." : "Activated."),
          text: resource.active ? "Deactivate" : "Activate",
        })));
  }

  async add() {
    const name = this.el.newName.value.trim();
    if (!name) {
      showError(this.el.error, "Enter the name of the person or room to add.");
      this.el.newName.focus();
      return;
    }
    this.el.addButton.disabled = true;
    try {
      const answer = await this.api.createResource({ name });
      showError(this.el.error, "");
      this.el.newName.value = "";
      this.changed(answer.data);
      toast(`${answer.data.name} added. Give them a weekly plan to make them bookable.`, "success");
      this.open(answer.data.id);
    } catch (error) {
      showError(this.el.error, error.message);
    } finally {
      this.el.addButton.disabled = false;
    }
  }

  async update(resource, changes, done) {
    if (changes.name === "") {
      showError(this.el.error, "A name cannot be empty.");
      return;
    }
    try {
      const answer = await this.api.updateResource(resource.id, changes);
      showError(this.el.error, "");
      this.changed(answer.data);
      toast(done, "success");
    } catch (error) {
      showError(this.el.error, error.message);
    }
  }

  // --- the plan editor -------------------------------------------------------------------------

  open(id) {
    this.selected = id;
    this.el.editor.hidden = false;
    this.el.planStranded.hidden = true;
    this.el.exceptionStranded.hidden = true;
    this.fillPlan();
    const resource = this.current();
    if (resource) this.renderExceptions(resource);
    this.el.planTitle.focus?.();
    this.el.editor.scrollIntoView({ block: "start" });
  }

  close() {
    this.selected = null;
    this.el.editor.hidden = true;
  }

  current() {
    return this.resources.find((resource) => resource.id === this.selected) || null;
  }

  fillPlan() {
    const resource = this.current();
    if (!resource) return;
    this.el.planTitle.textContent = `Weekly plan of ${resource.name}`;
    for (const [day, list] of this.days) list.set(resource.weekly_plan?.[String(day)] || []);
    delete this.el.planForm.dataset.dirty;
    this.el.planStatus.textContent = resource.follows_business_hours
      ? "Follows the business hours in Settings until you save a plan of its own."
      : "";
    showError(this.el.planError, "");
  }

  dirty() {
    this.el.planForm.dataset.dirty = "true";
    this.el.planStatus.textContent = "Not saved yet.";
  }

  async savePlan() {
    const resource = this.current();
    if (!resource) return;
    const problems = [...this.days.values()].map((list) => list.problem()).filter(Boolean);
    this.el.planStranded.hidden = true;
    if (problems.length) {
      showError(this.el.planError, problems.join(" "));
      return;
    }
    const plan = Object.fromEntries([...this.days].map(([day, list]) => [String(day), list.values()]));
    this.el.planSave.disabled = true;
    this.el.planStatus.textContent = "Saving…";
    try {
      const answer = await this.api.replacePlan(resource.id, plan);
      showError(this.el.planError, "");
      this.changed(answer.data);
      this.fillPlan();
      this.el.planStatus.textContent = "Saved.";
      toast("Plan saved", "success");
      this.showStranded(this.el.planStranded, this.el.planStrandedList, answer.stranded_bookings);
    } catch (error) {
      this.el.planStatus.textContent = "";
      showError(this.el.planError, error.message);
    } finally {
      this.el.planSave.disabled = false;
    }
  }

  showStranded(box, list, bookings) {
    box.hidden = !bookings?.length;
    list.replaceChildren(...strandedItems(bookings || []));
  }

  // --- date exceptions -------------------------------------------------------------------------

  renderExceptions(resource) {
    const exceptions = [...(resource.exceptions || [])].sort((a, b) => a.date.localeCompare(b.date));
    this.el.exceptions.replaceChildren(...exceptions.map((exception) => h("li", { class: "chip", dataset: { date: exception.date } },
      h("span", { text: formatDate(exception.date) }),
      h("span", {
        class: "muted",
        text: exception.intervals.length ? exception.intervals.map(intervalText).join(", ") : "Closed",
      }),
      h("button", {
        type: "button",
        class: "chip__remove",
        "aria-label": `Remove the exception on ${formatDate(exception.date)}`,
        onclick: () => this.removeException(resource, exception.date),
        text: "×",
      }))));
    this.el.exceptionsEmpty.hidden = exceptions.length > 0;
  }

  async saveException() {
    const resource = this.current();
    const date = this.el.exceptionDate.value;
    this.el.exceptionStranded.hidden = true;
    if (!resource) return;
    if (!date) {
      showError(this.el.exceptionError, "Pick the date the exception is for.");
      this.el.exceptionDate.focus();
      return;
    }
    const closed = this.el.exceptionClosed.checked;
    const problem = closed ? "" : this.exceptionHours.problem();
    if (!closed && !this.exceptionHours.values().length) {
      showError(this.el.exceptionError, "Add the hours worked that day, or tick Closed all day.");
      return;
    }
    if (problem) {
      showError(this.el.exceptionError, problem);
      return;
    }
    this.el.exceptionSave.disabled = true;
    try {
      const answer = await this.api.setException(resource.id, date, closed ? [] : this.exceptionHours.values());
      showError(this.el.exceptionError, "");
      this.changed(answer.data);
      this.el.exceptionDate.value = "";
      toast("Exception saved", "success");
      this.showStranded(this.el.exceptionStranded, this.el.exceptionStrandedList, answer.stranded_bookings);
    } catch (error) {
      showError(this.el.exceptionError, error.message);
    } finally {
      this.el.exceptionSave.disabled = false;
    }
  }

  async removeException(resource, date) {
    try {
      const answer = await this.api.removeException(resource.id, date);
      showError(this.el.exceptionError, "");
      this.changed(answer.data);
      toast("Exception removed", "success");
      this.showStranded(this.el.exceptionStranded, this.el.exceptionStrandedList, answer.stranded_bookings);
    } catch (error) {
      showError(this.el.exceptionError, error.message);
    }
  }
}
