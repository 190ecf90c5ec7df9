// Webhooks: subscriptions (URL, event types, description, enabled), their signing secret shown
// once (on create and on rotate), and each one's delivery log with every attempt, replay of one
// event or of every event since an id. The service disables a subscription itself on 410 Gone
// or after 5 days of failures; `disabled_reason` says so and is shown as such.

import { h, showError, toast } from "./dom.js";

/** The event types a subscription can name (agent_booking.core.events.EVENT_TYPES). */
export const EVENT_TYPES = [
  ["booking_created", "Booking created"],
  ["booking_cancelled", "Booking cancelled"],
  ["booking_rescheduled", "Booking rescheduled"],
  ["booking_held", "Booking held"],
  ["hold_released", "Hold released"],
];
const ALL = "*";
const LOG_PAGE = 50;
/** While the log is shown it is read again this often (sooner while a delivery is pending). */
const PENDING_REFRESH_MS = 2000;
const IDLE_REFRESH_MS = 15000;
/** A booking event is usually delivered within a moment: look again after these delays. */
const AFTER_EVENT_MS = [700, 2500];

const STATUS_BADGES = {
  pending: ["badge--pending", "Pending"],
  delivered: ["badge--completed", "Delivered"],
  failed: ["badge--cancelled", "Failed"],
  cancelled: ["badge--cancelled", "Cancelled"],
};

/** "2027-01-04T12:00:00.123Z" → "4 Jan 2027, 12:00:00" in `timeZone` (the business's). */
export function formatInstant(iso, timeZone) {
  if (!iso) return "";
  const options = {
    day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  };
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone }).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: "UTC" }).format(new Date(iso));
  }
}

const eventsText = (types) => (types.includes(ALL) ? "All events" : types.join(", "));
const answerText = (code, error) => (code !== null && code !== undefined ? `HTTP ${code}` : error || "");
const latencyText = (ms) => (ms === null || ms === undefined ? "" : `${Math.round(ms)} ms`);

export class WebhooksPanel {
  constructor({ api, timeZone, elements }) {
    this.api = api;
    this.timeZone = timeZone; // () => the business time zone
    this.el = elements;
    this.webhooks = [];
    this.editing = null; // the subscription in the form, or null for a new one
    this.logOf = null; // the subscription whose delivery log is open
    this.logBefore = null; // the last delivery id shown (the next page is below it)
    this.logPaged = false; // an older page is shown below the first
    this.logTimer = 0;
    this.eventTimers = [];
    elements.newButton.addEventListener("click", () => this.edit(null));
    elements.refresh.addEventListener("click", () => this.reload());
    elements.cancel.addEventListener("click", () => {
      elements.form.hidden = true;
      elements.newButton.focus();
    });
    elements.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    elements.secretCopy.addEventListener("click", () => this.copySecret());
    elements.secretDone.addEventListener("click", () => this.hideSecret());
    elements.logRefresh.addEventListener("click", () => this.loadLog());
    elements.logMore.addEventListener("click", () => this.loadLog({ more: true }));
    elements.replayForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const since = elements.replaySince.value.trim();
      if (!/^\d+$/.test(since)) {
        showError(elements.logError, "Enter an event id (0 for every event).");
        elements.replaySince.focus();
        return;
      }
      this.replay({ since: Number(since) });
    });
    this.eventBoxes = this.eventChoices();
  }

  eventChoices() {
    const boxes = new Map();
    const all = h("input", { type: "checkbox", name: "event_types", value: ALL });
    boxes.set(ALL, all);
    const items = [h("label", { class: "weekday" }, all, h("span", { text: "All events, also types added later" }))];
    for (const [type, label] of EVENT_TYPES) {
      const box = h("input", { type: "checkbox", name: "event_types", value: type });
      boxes.set(type, box);
      items.push(h("label", { class: "weekday" }, box, h("span", { text: label }), " ", h("code", { text: type })));
    }
    all.addEventListener("change", () => this.syncEventBoxes());
    this.el.events.replaceChildren(...items);
    return boxes;
  }

  syncEventBoxes() {
    const all = this.eventBoxes.get(ALL).checked;
    for (const [type, box] of this.eventBoxes) if (type !== ALL) box.disabled = all;
  }

  /** Signed out: nothing of this session stays on the page (a secret least of all). */
  reset() {
    this.closeLog();
    this.el.secretValue.value = "";
    this.el.secret.hidden = true;
    this.el.form.hidden = true;
    this.fill([]);
    this.el.empty.hidden = true;
  }

  // --- the list --------------------------------------------------------------------------------

  async reload() {
    try {
      const answer = await this.api.listWebhooks();
      showError(this.el.error, "");
      this.fill(answer.data);
    } catch (error) {
      showError(this.el.error, `Could not load the subscriptions: ${error.message}`);
    }
    if (this.logOf !== null) await this.loadLog();
  }

  fill(webhooks) {
    this.webhooks = [...(webhooks || [])].sort((a, b) => a.id - b.id);
    this.el.body.replaceChildren(...this.webhooks.map((webhook) => this.row(webhook)));
    this.el.empty.hidden = this.webhooks.length > 0;
    if (this.logOf !== null && !this.webhooks.some((webhook) => webhook.id === this.logOf)) this.closeLog();
  }

  status(webhook) {
    if (webhook.enabled) {
      const badge = h("span", { class: "badge badge--completed", text: "Enabled" });
      if (!webhook.failing_since) return [badge];
      return [badge, h("span", {
        class: "webhook__note webhook__note--warning",
        text: `Failing since ${formatInstant(webhook.failing_since, this.timeZone())}`,
      })];
    }
    if (webhook.disabled_reason) {
      return [
        h("span", { class: "badge badge--disabled", text: "Disabled by the service" }),
        h("span", { class: "webhook__note webhook__reason", text: webhook.disabled_reason }),
      ];
    }
    return [h("span", { class: "badge badge--cancelled", text: "Disabled" })];
  }

  row(webhook) {
    const name = webhook.description || webhook.url;
    const small = (label, text, onclick, extra = "") => h("button", {
      type: "button", class: `button button--small ${extra}`.trim(), "aria-label": `${label} ${name}`, text, onclick,
    });
    const secretNote = webhook.previous_secret_valid_until
      ? h("span", {
        class: "webhook__note",
        text: `Old secret signs too until ${formatInstant(webhook.previous_secret_valid_until, this.timeZone())}`,
      })
      : null;
    return h("tr", {
      class: "webhook",
      dataset: { webhookId: webhook.id, enabled: String(webhook.enabled) },
    },
    h("td", { class: "webhook__url", dataset: { label: "URL" } }, h("code", { text: webhook.url })),
    h("td", { dataset: { label: "Events" }, text: eventsText(webhook.event_types) }),
    h("td", { class: "webhook__status", dataset: { label: "Status" } }, this.status(webhook), secretNote),
    h("td", { dataset: { label: "Description" }, text: webhook.description }),
    h("td", { class: "booking__actions" }, h("div", { class: "webhook__actions" },
      small("Delivery log of", "Delivery log", () => this.openLog(webhook.id)),
      small("Edit", "Edit", () => this.edit(webhook)),
      small("Rotate the secret of", "Rotate secret", () => this.rotate(webhook)),
      small("Delete", "Delete", () => this.remove(webhook), "button--danger-ghost"))));
  }

  // --- create and edit -------------------------------------------------------------------------

  edit(webhook) {
    this.editing = webhook;
    const form = this.el.form;
    form.hidden = false;
    this.el.title.textContent = webhook ? `Edit ${webhook.description || webhook.url}` : "New subscription";
    const values = webhook || { url: "", event_types: [ALL], description: "", enabled: true };
    form.elements.url.value = values.url;
    form.elements.description.value = values.description;
    form.elements.enabled.checked = values.enabled;
    for (const [type, box] of this.eventBoxes) box.checked = values.event_types.includes(type);
    this.syncEventBoxes();
    showError(this.el.formError, "");
    this.el.status.textContent = webhook && !webhook.enabled && webhook.disabled_reason
      ? "Enabling it again sends its pending deliveries."
      : "";
    form.elements.url.focus();
  }

  values() {
    const form = this.el.form;
    const all = this.eventBoxes.get(ALL).checked;
    return {
      url: form.elements.url.value.trim(),
      event_types: all ? [ALL] : [...this.eventBoxes].filter(([type, box]) => type !== ALL && box.checked).map(([type]) => type),
      description: form.elements.description.value.trim(),
      enabled: form.elements.enabled.checked,
    };
  }

  changes(values) {
    if (!this.editing) return values;
    const changed = {};
    for (const [key, value] of Object.entries(values)) {
      const old = this.editing[key];
      const same = Array.isArray(value) ? [...value].sort().join() === [...old].sort().join() : value === old;
      if (!same) changed[key] = value;
    }
    return changed;
  }

  async save() {
    const values = this.values();
    if (!values.url) {
      showError(this.el.formError, "A subscription needs the URL to send to.");
      this.el.form.elements.url.focus();
      return;
    }
    if (!values.event_types.length) {
      showError(this.el.formError, "Choose at least one event, or all events.");
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
        ? await this.api.updateWebhook(this.editing.id, changes)
        : await this.api.createWebhook(changes);
      showError(this.el.formError, "");
      this.fill([...this.webhooks.filter((webhook) => webhook.id !== answer.data.id), answer.data]);
      if (answer.secret) {
        this.el.form.hidden = true;
        this.showSecret(answer.data, answer.secret, "new");
        toast("Subscription made. Copy its secret now.", "success");
      } else {
        this.editing = answer.data;
        this.el.status.textContent = "Saved.";
        toast("Subscription saved", "success");
      }
    } catch (error) {
      showError(this.el.formError, error.message);
    } finally {
      this.el.save.disabled = false;
    }
  }

  // --- secrets ---------------------------------------------------------------------------------

  showSecret(webhook, secret, why) {
    this.el.secretFor.textContent = why === "new"
      ? ` of the new subscription to ${webhook.url}`
      : ` of ${webhook.url}, rotated: the old one keeps signing for 24 hours`;
    this.el.secretValue.value = secret;
    this.el.secret.hidden = false;
    this.el.secretValue.focus();
    this.el.secretValue.select();
  }

  hideSecret() {
    this.el.secretValue.value = "";
    this.el.secret.hidden = true;
    this.el.newButton.focus();
  }

  async copySecret() {
    const input = this.el.secretValue;
    try {
      await navigator.clipboard.writeText(input.value);
      toast("Secret copied to the clipboard.", "success");
    } catch {
      input.focus();
      input.select();
      toast("Selected: press Ctrl+C (⌘C) to copy it.", "info");
    }
  }

  async rotate(webhook) {
    try {
      const answer = await this.api.rotateWebhookSecret(webhook.id);
      showError(this.el.error, "");
      this.fill([...this.webhooks.filter((item) => item.id !== webhook.id), answer.data]);
      this.showSecret(answer.data, answer.secret, "rotated");
    } catch (error) {
      showError(this.el.error, `Could not rotate the secret: ${error.message}`);
    }
  }

  async remove(webhook) {
    const dialog = this.el.deleteDialog;
    this.el.deleteText.replaceChildren("Deliveries to ", h("strong", { text: webhook.url }), webhook.description ? ` (${webhook.description})` : "", " stop.");
    dialog.returnValue = "";
    dialog.showModal();
    await new Promise((resolve) => dialog.addEventListener("close", resolve, { once: true }));
    if (dialog.returnValue !== "delete") return;
    try {
      await this.api.deleteWebhook(webhook.id);
      showError(this.el.error, "");
      if (this.editing?.id === webhook.id) this.el.form.hidden = true;
      this.fill(this.webhooks.filter((item) => item.id !== webhook.id));
      toast("Subscription deleted", "success");
    } catch (error) {
      showError(this.el.error, `Could not delete: ${error.message}`);
    }
    this.el.newButton.focus();
  }

  // --- the delivery log ------------------------------------------------------------------------

  openLog(id) {
    this.logOf = id;
    const webhook = this.webhooks.find((item) => item.id === id);
    this.el.logTitle.textContent = `Delivery log of ${webhook?.description || webhook?.url || `subscription ${id}`}`;
    this.el.log.hidden = false;
    this.el.logBody.replaceChildren();
    showError(this.el.logError, "");
    this.loadLog();
    this.el.logTitle.focus();
    this.el.log.scrollIntoView({ block: "start" });
  }

  closeLog() {
    this.logOf = null;
    clearTimeout(this.logTimer);
    for (const timer of this.eventTimers) clearTimeout(timer);
    this.el.log.hidden = true;
  }

  /** The log's first page again (or, with `more`, the next older page below it). */
  async loadLog({ more = false } = {}) {
    const id = this.logOf;
    if (id === null) return;
    clearTimeout(this.logTimer);
    try {
      const answer = await this.api.webhookDeliveries(id, { limit: LOG_PAGE, before: more ? this.logBefore : undefined });
      if (id !== this.logOf) return;
      showError(this.el.logError, "");
      const rows = answer.data.flatMap((delivery) => this.deliveryRows(delivery));
      if (more) this.el.logBody.append(...rows);
      else this.el.logBody.replaceChildren(...rows);
      this.logPaged = more; // older pages shown: refreshing by itself would drop them
      if (answer.data.length) this.logBefore = answer.data[answer.data.length - 1].id;
      if (!more) this.el.logEmpty.hidden = answer.data.length > 0;
      this.el.logMore.hidden = answer.data.length < LOG_PAGE;
    } catch (error) {
      if (id === this.logOf) showError(this.el.logError, `Could not load the delivery log: ${error.message}`);
    }
    if (id === this.logOf) {
      const pending = this.el.logBody.querySelector('tr[data-status="pending"]');
      this.logTimer = setTimeout(() => this.visibleLogRefresh(), pending ? PENDING_REFRESH_MS : IDLE_REFRESH_MS);
    }
  }

  /** The log's first page again if it is on screen; if not, look again later. */
  visibleLogRefresh() {
    if (this.logOf === null) return;
    if (!this.el.log.closest("[hidden]") && !document.hidden && !this.logPaged) {
      this.loadLog();
      return;
    }
    clearTimeout(this.logTimer);
    this.logTimer = setTimeout(() => this.visibleLogRefresh(), IDLE_REFRESH_MS);
  }

  /** A booking event arrived on the live feed: it is about to be delivered, so look again. */
  eventArrived() {
    if (this.logOf === null) return;
    for (const timer of this.eventTimers) clearTimeout(timer);
    this.eventTimers = AFTER_EVENT_MS.map((delay) => setTimeout(() => this.visibleLogRefresh(), delay));
  }

  deliveryRows(delivery) {
    const zone = this.timeZone();
    const [badgeClass, label] = STATUS_BADGES[delivery.status] || ["badge--cancelled", delivery.status];
    const main = h("tr", { class: "delivery", dataset: { deliveryId: delivery.id, eventId: delivery.event_id, status: delivery.status } },
      h("td", { dataset: { label: "Event" }, text: `#${delivery.event_id}` }),
      h("td", { dataset: { label: "Status" } }, h("span", { class: `badge ${badgeClass}`, text: label })),
      h("td", { class: "delivery__attempts", dataset: { label: "Attempts" }, text: String(delivery.attempts) }),
      h("td", { class: "delivery__answer", dataset: { label: "Last answer" }, text: answerText(delivery.last_status_code, delivery.last_error) }),
      h("td", { dataset: { label: "Latency" }, text: latencyText(delivery.last_latency_ms) }),
      h("td", { class: "delivery__next", dataset: { label: "Next retry" }, text: formatInstant(delivery.next_attempt_at, zone) }),
      h("td", { class: "booking__actions" },
        h("button", {
          type: "button", class: "button button--small",
          "aria-label": `Replay event ${delivery.event_id}`, text: "Replay",
          onclick: () => this.replay({ event_id: delivery.event_id }),
        })));
    if (!delivery.attempt_log.length) return [main];
    const attempts = h("ol", { class: "attempts", "aria-label": `Attempts for event ${delivery.event_id}` },
      delivery.attempt_log.map((attempt) => h("li", {
        class: "attempt", dataset: { attempt: attempt.attempt, statusCode: attempt.status_code ?? "" },
      },
      h("span", { class: "attempt__number", text: `Attempt ${attempt.attempt}` }), " · ",
      h("span", { text: formatInstant(attempt.started_at, zone) }), " · ",
      h("span", { class: "attempt__answer", text: answerText(attempt.status_code, attempt.error) }), " · ",
      h("span", { text: latencyText(attempt.latency_ms) }),
      attempt.next_attempt_at ? ` · retry at ${formatInstant(attempt.next_attempt_at, zone)}` : "")));
    const detail = h("tr", { class: "delivery__history", dataset: { deliveryId: delivery.id } },
      h("td", { colspan: "7" }, attempts));
    return [main, detail];
  }

  async replay(which) {
    const id = this.logOf;
    if (id === null) return;
    try {
      const answer = await this.api.replayWebhook(id, which);
      showError(this.el.logError, "");
      const count = answer.scheduled;
      toast(`${count} ${count === 1 ? "event" : "events"} queued to be sent again.`, "success");
      await this.loadLog();
    } catch (error) {
      showError(this.el.logError, `Could not replay: ${error.message}`);
    }
  }
}
