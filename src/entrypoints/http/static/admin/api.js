// The admin REST API (docs/admin-api.md), with the token as a Bearer header.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class AdminApi {
  /** `onUnauthorized` runs when the server refuses the token (it was changed, say). */
  constructor(token, { onUnauthorized = () => {} } = {}) {
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  async request(method, path, { query, body } = {}) {
    const url = new URL(path, location.origin);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
    const headers = { Authorization: `Bearer ${this.token}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store", credentials: "omit",
      });
    } catch {
      throw new ApiError(0, "network", "Could not reach the server. Check the connection and try again.");
    }
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = null;
    }
    if (!response.ok || !payload || payload.success === false) {
      const code = payload?.code || "http_error";
      const message = payload?.message || `The server answered ${response.status}.`;
      if (response.status === 401) this.onUnauthorized();
      throw new ApiError(response.status, code, message);
    }
    return payload;
  }

  listBookings({ from, to, status, page = 1, pageSize = 200 } = {}) {
    return this.request("GET", "/api/admin/bookings/", {
      query: { from, to, status, page, page_size: pageSize },
    });
  }

  cancelBooking(id) {
    return this.request("POST", `/api/admin/bookings/${encodeURIComponent(id)}/cancel/`);
  }

  getSettings() {
    return this.request("GET", "/api/admin/settings/");
  }

  updateSettings(changes) {
    return this.request("PATCH", "/api/admin/settings/", { body: changes });
  }

  availability(date) {
    return this.request("GET", "/api/admin/availability/", { query: { date } });
  }

  // Resources (people, rooms), their weekly plans and date exceptions; services.

  listResources() {
    return this.request("GET", "/api/admin/resources/");
  }

  createResource(fields) {
    return this.request("POST", "/api/admin/resources/", { body: fields });
  }

  updateResource(id, changes) {
    return this.request("PATCH", `/api/admin/resources/${encodeURIComponent(id)}/`, { body: changes });
  }

  /** Replace a resource's weekly plan; the answer lists the bookings it strands. */
  replacePlan(id, weeklyPlan) {
    return this.request("PUT", `/api/admin/resources/${encodeURIComponent(id)}/plan/`, {
      body: { weekly_plan: weeklyPlan },
    });
  }

  /** Set a date exception (no intervals: closed that day); the answer lists stranded bookings. */
  setException(id, date, intervals) {
    return this.request(
      "PUT", `/api/admin/resources/${encodeURIComponent(id)}/exceptions/${encodeURIComponent(date)}/`,
      { body: { intervals } },
    );
  }

  removeException(id, date) {
    return this.request(
      "DELETE", `/api/admin/resources/${encodeURIComponent(id)}/exceptions/${encodeURIComponent(date)}/`,
    );
  }

  listServices() {
    return this.request("GET", "/api/admin/services/");
  }

  createService(fields) {
    return this.request("POST", "/api/admin/services/", { body: fields });
  }

  updateService(id, changes) {
    return this.request("PATCH", `/api/admin/services/${encodeURIComponent(id)}/`, { body: changes });
  }

  // Webhook subscriptions: a secret comes only in the answers to create and rotate.

  listWebhooks() {
    return this.request("GET", "/api/admin/webhooks/");
  }

  createWebhook(fields) {
    return this.request("POST", "/api/admin/webhooks/", { body: fields });
  }

  updateWebhook(id, changes) {
    return this.request("PATCH", `/api/admin/webhooks/${encodeURIComponent(id)}/`, { body: changes });
  }

  deleteWebhook(id) {
    return this.request("DELETE", `/api/admin/webhooks/${encodeURIComponent(id)}/`);
  }

  rotateWebhookSecret(id) {
    return this.request("POST", `/api/admin/webhooks/${encodeURIComponent(id)}/rotate-secret/`);
  }

  /** A page of the delivery log, newest first; `before` is the last id of the previous page. */
  webhookDeliveries(id, { limit = 50, before } = {}) {
    return this.request("GET", `/api/admin/webhooks/${encodeURIComponent(id)}/deliveries/`, {
      query: { limit, before },
    });
  }

  /** `{event_id: n}` sends that event again, `{since: n}` every later one. */
  replayWebhook(id, which) {
    return this.request("POST", `/api/admin/webhooks/${encodeURIComponent(id)}/replay/`, { body: which });
  }
}
