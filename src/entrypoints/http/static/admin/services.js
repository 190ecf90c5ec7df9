// Services: name, duration, buffers, minimum notice, the resources that perform it (none
// ticked: all of them) and whether it is bookable. New services are POSTed whole; an edit sends
// only the fields that changed (PATCH), as the settings form does, and shows the bookings the
// server reports as stranded (they are kept). There is no delete: a service is deactivated.

import { h, showError, toast } from "./dom.js";
import { strandedItems } from "./resources.js";

const FIELDS = ["name", "duration_minutes", "buffer_before", "buffer_after", "min_notice_minutes"];
const sameIds = (a, b) => a.length === b.length && [...a].sort().every((id, i) => id === [...b].sort()[i]);

export class ServicesPanel {
  constructor({ api, resources, elements, onChanged = () => {} }) {
    this.api = api;
    this.resources = resources; // () => the resources last listed (for "performed by")
    this.el = elements;
    this.onChanged = onChanged;
    this.services = [];
    this.editing = null; // the service being edited, or null for a new one
    elements.newButton.addEventListener("click", () => this.edit(null));
    elements.cancel.addEventListener("click", () => {
      elements.form.hidden = true;
      elements.newButton.focus();
    });
    elements.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
  }

  async reload() {
    try {
      const answer = await this.api.listServices();
      showError(this.el.error, "");
      this.fill(answer.data);
    } catch (error) {
      showError(this.el.error, `Could not load the services: ${error.message}`);
    }
  }

  fill(services) {
    this.services = [...(services || [])].sort((a, b) => a.name.localeCompare(b.name));
    this.el.body.replaceChildren(...this.services.map((service) => this.row(service)));
    this.el.empty.hidden = this.services.length > 0;
  }

  performersText(service) {
    if (!service.resource_ids?.length) return "Everyone";
    const names = new Map(this.resources().map((resource) => [resource.id, resource.name]));
    return service.resource_ids.map((id) => names.get(id) || `Resource ${id}`).join(", ");
  }

  row(service) {
    return h("tr", { class: "service", dataset: { serviceId: service.id, active: String(service.active) } },
      h("td", { dataset: { label: "Name" } }, h("span", { class: "booking__service-name", text: service.name })),
      h("td", { dataset: { label: "Duration" }, text: `${service.duration_minutes} min` }),
      h("td", { dataset: { label: "Buffers" }, text: `${service.buffer_before} / ${service.buffer_after} min` }),
      h("td", { dataset: { label: "Notice" }, text: `${service.min_notice_minutes} min` }),
      h("td", { dataset: { label: "Performed by" }, text: this.performersText(service) }),
      h("td", { dataset: { label: "Status" } },
        h("span", { class: `badge ${service.active ? "badge--completed" : "badge--cancelled"}`, text: service.active ? "Active" : "Inactive" })),
      h("td", { class: "booking__actions" },
        h("button", {
          type: "button", class: "button button--small",
          "aria-label": `Edit ${service.name}`, text: "Edit",
          onclick: () => this.edit(service),
        }), " ",
        h("button", {
          type: "button", class: "button button--small button--ghost",
          "aria-label": `${service.active ? "Deactivate" : "Activate"} ${service.name}`,
          text: service.active ? "Deactivate" : "Activate",
          onclick: () => this.toggle(service),
        })));
  }

  /** Deactivate (no new bookings; its bookings are kept) or activate again. */
  async toggle(service) {
    try {
      const answer = await this.api.updateService(service.id, { active: !service.active });
      showError(this.el.error, "");
      this.saved(answer);
      toast(answer.data.active ? `${answer.data.name} activated.` : `${answer.data.name} deactivated: no new bookings.`, "success");
    } catch (error) {
      showError(this.el.error, error.message);
    }
  }

  /** A service the server accepted: listed, in the form if it is open on it, and what it strands. */
  saved(answer) {
    const others = this.services.filter((service) => service.id !== answer.data.id);
    this.fill([...others, answer.data]);
    if (this.editing?.id === answer.data.id) this.editing = answer.data;
    const stranded = answer.stranded_bookings || [];
    this.el.stranded.hidden = !stranded.length;
    this.el.strandedList.replaceChildren(...strandedItems(stranded));
    this.onChanged(this.services);
  }

  edit(service) {
    this.editing = service;
    const form = this.el.form;
    form.hidden = false;
    this.el.title.textContent = service ? `Edit ${service.name}` : "New service";
    const values = service || {
      name: "", duration_minutes: 60, buffer_before: 0, buffer_after: 0, min_notice_minutes: 0,
      resource_ids: [], active: true,
    };
    for (const field of FIELDS) form.elements[field].value = values[field];
    form.elements.active.checked = values.active;
    this.el.performers.replaceChildren(...this.resources().map((resource) => h("label", { class: "weekday" },
      h("input", {
        type: "checkbox", name: "resource_ids", value: resource.id,
        checked: (values.resource_ids || []).includes(resource.id),
      }),
      h("span", { text: resource.name }))));
    showError(this.el.formError, "");
    this.el.status.textContent = "";
    this.el.stranded.hidden = true;
    form.elements.name.focus();
  }

  values() {
    const form = this.el.form;
    const number = (field) => Number(form.elements[field].value || 0);
    return {
      name: form.elements.name.value.trim(),
      duration_minutes: number("duration_minutes"),
      buffer_before: number("buffer_before"),
      buffer_after: number("buffer_after"),
      min_notice_minutes: number("min_notice_minutes"),
      resource_ids: [...form.querySelectorAll('input[name="resource_ids"]:checked')].map((box) => Number(box.value)),
      active: form.elements.active.checked,
    };
  }

  changes(values) {
    if (!this.editing) return values;
    const changed = {};
    for (const [key, value] of Object.entries(values)) {
      const old = this.editing[key];
      if (Array.isArray(value) ? !sameIds(value, old || []) : value !== old) changed[key] = value;
    }
    return changed;
  }

  async save() {
    const values = this.values();
    if (!values.name) {
      showError(this.el.formError, "A service needs a name.");
      this.el.form.elements.name.focus();
      return;
    }
    const changes = this.changes(values);
    if (!Object.keys(changes).length) {
      this.el.status.textContent = "Nothing to save.";
      return;
    }
    this.el.save.disabled = true;
    try {
      const answer = this.editing
        ? await this.api.updateService(this.editing.id, changes)
        : await this.api.createService(changes);
      showError(this.el.formError, "");
      this.editing = answer.data;
      this.saved(answer);
      this.el.title.textContent = `Edit ${answer.data.name}`;
      this.el.status.textContent = "Saved.";
      toast("Service saved", "success");
    } catch (error) {
      showError(this.el.formError, error.message);
    } finally {
      this.el.save.disabled = false;
    }
  }
}
