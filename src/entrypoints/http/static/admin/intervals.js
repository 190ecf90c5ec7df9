// An editable list of open intervals ("opens"–"closes" time inputs), used by the weekly plan
// (one per weekday) and by a date exception. The server judges the values; this only checks
// what a person can fix at once (a blank time, a close before its open) and says where.

import { h } from "./dom.js";
import { formatTime, minutesOf } from "./format.js";

export class IntervalList {
  /** `label` names the list for assistive technology ("Monday", "Exception"). */
  constructor(container, { label, onChange = () => {} }) {
    this.container = container;
    this.label = label;
    this.onChange = onChange;
    this.list = h("ul", { class: "intervals__list", "aria-label": `${label} open hours` });
    this.empty = h("span", { class: "muted intervals__empty", text: "Not worked" });
    this.add = h("button", {
      type: "button",
      class: "button button--small",
      "aria-label": `Add hours on ${label}`,
      text: "+ Hours",
      onclick: () => {
        const last = this.values().at(-1);
        this.append(last ? { opens: last.closes, closes: "" } : { opens: "09:00", closes: "17:00" });
        this.list.lastElementChild?.querySelector("input")?.focus();
        this.changed();
      },
    });
    container.replaceChildren(this.list, this.empty, this.add);
  }

  set(intervals) {
    this.list.replaceChildren();
    for (const interval of intervals || []) this.append(interval);
    this.sync();
  }

  append({ opens, closes }) {
    const index = this.list.children.length + 1;
    const opensInput = h("input", {
      type: "time", class: "input input--compact", step: "60", value: opens ? formatTime(opens) : "",
      "aria-label": `${this.label} hours ${index} open from`, dataset: { role: "opens" },
    });
    const closesInput = h("input", {
      type: "time", class: "input input--compact", step: "60", value: closes ? formatTime(closes) : "",
      "aria-label": `${this.label} hours ${index} close at`, dataset: { role: "closes" },
    });
    const item = h("li", { class: "intervals__item" },
      opensInput, h("span", { "aria-hidden": "true", text: "–" }), closesInput,
      h("button", {
        type: "button",
        class: "chip__remove",
        "aria-label": `Remove ${this.label} hours ${index}`,
        text: "×",
        onclick: () => {
          item.remove();
          this.sync();
          this.changed();
          this.add.focus();
        },
      }));
    for (const input of [opensInput, closesInput]) input.addEventListener("input", () => this.changed());
    this.list.append(item);
    this.sync();
  }

  sync() {
    this.empty.hidden = this.list.children.length > 0;
  }

  changed() {
    this.onChange();
  }

  values() {
    return [...this.list.children].map((item) => ({
      opens: item.querySelector('[data-role="opens"]').value,
      closes: item.querySelector('[data-role="closes"]').value,
    }));
  }

  /** What is plainly wrong, in words, or "" when the intervals can go to the server. */
  problem() {
    for (const { opens, closes } of this.values()) {
      if (!opens || !closes) return `${this.label}: enter both times of every interval.`;
      if (minutesOf(closes) <= minutesOf(opens)) {
        return `${this.label}: ${opens}–${closes} must close after it opens.`;
      }
    }
    return "";
  }
}
