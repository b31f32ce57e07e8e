// The seesaw dashboard: a page per route (#/ overview, #/jobs?…, #/job/<id>),
// drawn from the JSON API under /api/. Every value from the database goes
// into the page as text (textContent, text nodes, attribute values), never as
// HTML: a payload holding <script> shows as those characters.
"use strict";

(() => {
  const STATES = ["pending", "running", "failed", "dead_letter", "cancelled", "succeeded"];
  const STATE_TITLES = {
    pending: "Pending", running: "Running", failed: "Failed (retry waiting)", dead_letter: "Dead letter",
    cancelled: "Cancelled", succeeded: "Succeeded",
  };
  const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

  let session = null;       // GET /api/session
  let generation = 0;       // bumped on every route change: late answers of an old view are dropped
  let timer = null;         // the current view's refresh timer

  // --- small DOM helpers (text only) -------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "data") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    return node;
  }

  const view = () => document.getElementById("view");

  function shortTime(iso) {
    return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-";
  }

  function formatAge(seconds) {
    const s = Math.floor(seconds);
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h" + String(Math.floor(s / 60) % 60).padStart(2, "0") + "m";
    return Math.floor(s / 86400) + "d" + String(Math.floor(s / 3600) % 24).padStart(2, "0") + "h";
  }

  function formatRate(rate) {
    if (rate === null || rate === undefined) return "-";
    return rate >= 100 ? rate.toFixed(0) : rate >= 10 ? rate.toFixed(1) : rate.toFixed(2);
  }

  function badge(state) {
    return el("span", { class: "badge " + state, data: { state } }, state);
  }

  // --- the API --------------------------------------------------------------------------

  class ApiFailure extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    const init = { method, headers: {}, credentials: "same-origin" };
    if (method === "POST") {
      init.headers["X-CSRF-Token"] = session ? session.csrf_token : "";
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiFailure(0, "the dashboard's server cannot be reached (is seesaw web still running?)");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (response.status === 401) {
      location.href = "/login";
      throw new ApiFailure(401, "log in first");
    }
    if (!response.ok) throw new ApiFailure(response.status, (data && data.error) || "HTTP " + response.status);
    return data;
  }

  // The banner says when the database (503) or the server (0) is away; the
  // next answer that comes through removes it.
  function reachable(ok, failure) {
    const banner = document.getElementById("banner");
    if (ok) {
      banner.hidden = true;
      banner.textContent = "";
      return;
    }
    banner.textContent = failure.message + " — retrying…";
    banner.hidden = false;
  }

  function unreachable(failure) {
    return failure instanceof ApiFailure && (failure.status === 503 || failure.status === 0);
  }

  function notice(text, isError) {
    const box = document.getElementById("notice");
    box.textContent = text;
    box.className = isError ? "error" : "";
    box.hidden = false;
  }

  function clearNotice() {
    const box = document.getElementById("notice");
    box.hidden = true;
    box.textContent = "";
  }

  // Asks, then POSTs, then reports and redraws.
  async function act(question, path, body, describe) {
    if (!window.confirm(question)) return;
    try {
      const result = await api("POST", path, body);
      notice(describe(result), false);
    } catch (e) {
      notice(e.message, true);
    }
    route(false);
  }

  // --- overview -------------------------------------------------------------------------

  function chart(throughput) {
    const width = 640, height = 150, left = 44, right = 8, top = 10, bottom = 22;
    const box = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", id: "throughput-chart" });
    const title = svg("title");
    title.textContent = "Jobs finished per second, all queues";
    box.append(title);
    const samples = throughput.samples;
    const span = throughput.interval_s * Math.max(samples.length, 30);
    const end = samples.length ? Date.parse(samples[samples.length - 1].at) : Date.now();
    const values = samples.filter((s) => s.finished_per_s !== null).map((s) => s.finished_per_s);
    const max = Math.max(1, ...values) * 1.1;
    const x = (at) => left + (width - left - right) * (1 - (end - Date.parse(at)) / 1000 / span);
    const y = (v) => top + (height - top - bottom) * (1 - v / max);
    box.append(svg("line", { x1: left, y1: y(0), x2: width - right, y2: y(0), stroke: "#c9ced8" }));
    box.append(svg("line", { x1: left, y1: top, x2: left, y2: y(0), stroke: "#c9ced8" }));
    const label = (text, attrs) => {
      const t = svg("text", Object.assign({ "font-size": 11, fill: "#667085" }, attrs));
      t.textContent = text;
      box.append(t);
    };
    label(formatRate(max / 1.1), { x: left - 6, y: y(max / 1.1) + 4, "text-anchor": "end" });
    label("0", { x: left - 6, y: y(0) + 4, "text-anchor": "end" });
    label("-" + formatAge(span), { x: left, y: height - 6 });
    label("now", { x: width - right, y: height - 6, "text-anchor": "end" });
    let points = [];
    const flush = () => {
      if (points.length > 1) {
        box.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: "#2f6fde", "stroke-width": 2 }));
      } else if (points.length === 1) {
        const [cx, cy] = points[0].split(",");
        box.append(svg("circle", { cx, cy, r: 2, fill: "#2f6fde" }));
      }
      points = [];
    };
    for (const s of samples) {
      if (s.finished_per_s === null) flush();
      else points.push(`${x(s.at).toFixed(1)},${y(s.finished_per_s).toFixed(1)}`);
    }
    flush();
    return box;
  }

  function queueRow(queue) {
    const jobsLink = (state, n) =>
      el("a", { href: `#/jobs?queue=${encodeURIComponent(queue.name)}&state=${state}` }, n.toLocaleString("en-US"));
    const action = queue.paused ? "resume" : "pause";
    return el("tr", { data: { queue: queue.name } },
      el("td", {}, el("a", { href: `#/jobs?queue=${encodeURIComponent(queue.name)}` }, queue.name)),
      el("td", {}, queue.paused ? el("span", { class: "badge paused", title: "since " + shortTime(queue.paused_at) }, "paused") : "running"),
      STATES.map((state) => el("td", { class: "num", data: { count: state } }, jobsLink(state, queue.counts[state]))),
      el("td", { class: "num" }, formatAge(queue.oldest_pending_age_s)),
      el("td", { class: "num" }, formatRate(queue.finished_per_s)),
      session.read_only ? null : el("td", {},
        el("button", {
          type: "button", data: { action },
          onclick: () => act(
            action === "pause"
              ? `Pause queue '${queue.name}'? No worker will start its jobs until it is resumed.`
              : `Resume queue '${queue.name}'?`,
            `/api/queues/${encodeURIComponent(queue.name)}/${action}`, undefined,
            (r) => `Queue '${r.queue}' ${r.paused ? (r.changed ? "paused" : "was already paused") : (r.changed ? "resumed" : "was not paused")}.`),
        }, action === "pause" ? "Pause" : "Resume")));
  }

  function renderOverview(data) {
    const total = data.total;
    const rows = data.queues.map(queueRow);
    const head = el("tr", {}, el("th", {}, "Queue"), el("th", {}, "State"),
      STATES.map((s) => el("th", { class: "num" }, STATE_TITLES[s])),
      el("th", { class: "num" }, "Oldest pending"), el("th", { class: "num" }, "Finished/s"),
      session.read_only ? null : el("th", {}, ""));
    const totals = el("tr", { class: "total" }, el("td", {}, el("strong", {}, "All queues")), el("td", {}, ""),
      STATES.map((s) => el("td", { class: "num" }, el("strong", {}, total.counts[s].toLocaleString("en-US")))),
      el("td", { class: "num" }, formatAge(total.oldest_pending_age_s)),
      el("td", { class: "num" }, formatRate(total.finished_per_s)), session.read_only ? null : el("td", {}, ""));
    view().replaceChildren(
      el("h1", {}, "Overview"),
      el("div", { class: "card chart" },
        chart(data.throughput),
        el("div", { class: "rate", id: "rate" }, formatRate(total.finished_per_s),
          el("small", {}, "jobs finished per second, last minute"),
          el("small", {}, `sampled every ${data.throughput.interval_s}s`))),
      el("table", { id: "queues" }, el("thead", {}, head),
        el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 12, class: "muted" }, "No queue has jobs yet.")), totals)));
  }

  async function overview(mine) {
    try {
      const data = await api("GET", "/api/queues");
      if (mine !== generation) return;
      reachable(true);
      renderOverview(data);
    } catch (e) {
      if (mine !== generation) return;
      if (unreachable(e)) reachable(false, e);
      else notice(e.message, true);
    }
    if (mine === generation) timer = setTimeout(() => overview(mine), session.refresh_s * 1000);
  }

  // --- jobs -----------------------------------------------------------------------------

  function jobsForm(params) {
    const select = (name, options) => el("select", { name, id: "filter-" + name },
      options.map(([value, text]) => el("option", { value, selected: params.get(name) === value }, text)));
    const form = el("form", { class: "filters card", id: "filters" },
      el("label", {}, "State", select("state", [["", "any"], ...STATES.map((s) => [s, s])])),
      el("label", {}, "Type", el("input", { name: "type", id: "filter-type", value: params.get("type") || "", placeholder: "any", spellcheck: "false" })),
      el("label", {}, "Queue", el("input", { name: "queue", id: "filter-queue", value: params.get("queue") || "", placeholder: "any", spellcheck: "false" })),
      el("label", {}, "Order", select("order", [["newest", "newest first"], ["oldest", "oldest first"]])),
      el("button", { type: "submit", class: "primary" }, "Show"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const next = new URLSearchParams();
      for (const [key, value] of new FormData(form)) if (value.trim() !== "") next.set(key, value.trim());
      location.hash = "#/jobs?" + next.toString();
    });
    return form;
  }

  function jobRow(job) {
    return el("tr", { data: { id: job.id } },
      el("td", { class: "mono" }, el("a", { href: "#/job/" + job.id }, job.id)),
      el("td", {}, job.type), el("td", {}, job.queue), el("td", {}, badge(job.status)),
      el("td", { class: "num" }, `${job.attempt}/${job.attempts_allowed}`),
      el("td", { class: "num" }, job.priority),
      el("td", { class: "mono" }, shortTime(job.created_at)),
      el("td", { class: "mono" }, shortTime(job.run_at)),
      el("td", { class: "error", title: job.error_message || "" }, job.error_message || ""));
  }

  async function jobs(mine, params) {
    const query = new URLSearchParams();
    for (const key of ["state", "type", "queue", "order", "cursor"]) if (params.get(key)) query.set(key, params.get(key));
    const parts = [el("h1", {}, "Jobs"), jobsForm(params)];
    const type = params.get("type");
    if (params.get("state") === "dead_letter" && type && !session.read_only) {
      parts.push(el("div", { class: "actions" }, el("button", {
        type: "button", id: "retry-all", class: "primary",
        onclick: () => act(`Retry every dead letter of type '${type}'? They go back to pending with their attempts reset.`,
          "/api/dead-letters/retry", { type }, (r) => `Retried ${r.retried} dead letter(s) of type '${r.type}'.`),
      }, `Retry all dead letters of type '${type}'`)));
    }
    try {
      const data = await api("GET", "/api/jobs?" + query.toString());
      if (mine !== generation) return;
      reachable(true);
      const table = el("table", { id: "jobs" },
        el("thead", {}, el("tr", {}, ["ID", "Type", "Queue", "State", "Attempt", "Priority", "Created", "Run at", "Last error"]
          .map((t, i) => el("th", { class: i === 4 || i === 5 ? "num" : "" }, t)))),
        el("tbody", {}, data.jobs.length ? data.jobs.map(jobRow)
          : el("tr", {}, el("td", { colspan: 9, class: "muted" },
            data.next_cursor ? "No job matches among these." : "No job matches."))));
      const pager = el("div", { class: "pager" });
      // A filter without an index of its own reads at most 10,000 jobs per
      // page: a short page with a next one means more jobs remain to look at.
      if (data.scanned !== null && data.next_cursor && data.jobs.length < 50 /* the API's default page */) {
        pager.append(el("span", { class: "muted", id: "scanned" },
          `Looked at ${data.scanned.toLocaleString()} jobs; the next page looks at the following ones.`));
      }
      if (params.get("cursor")) {
        const first = new URLSearchParams(query);
        first.delete("cursor");
        pager.append(el("a", { href: "#/jobs?" + first.toString(), id: "first-page" }, "« First page"));
      }
      if (data.next_cursor) {
        const next = new URLSearchParams(query);
        next.set("cursor", data.next_cursor);
        pager.append(el("a", { href: "#/jobs?" + next.toString(), id: "next-page" }, "Next page »"));
      }
      parts.push(table, pager);
    } catch (e) {
      if (mine !== generation) return;
      if (unreachable(e)) {
        reachable(false, e);
        timer = setTimeout(() => route(false), session.refresh_s * 1000);
      }
      parts.push(el("p", { class: "muted", id: "load-error" }, e.message));
    }
    view().replaceChildren(...parts);
  }

  // --- one job --------------------------------------------------------------------------

  const FIELDS = ["id", "type", "queue", "status", "attempt", "uncounted_attempts", "snoozes", "max_retries", "priority",
    "version", "run_at", "created_at", "updated_at", "worker_id", "lease_expires_at", "error_kind", "error_message",
    "unique_key", "unique_bucket", "unique_states"];

  function jobActions(job) {
    if (session.read_only) return null;
    const id = job.id;
    const buttons = [];
    if (job.status === "dead_letter" || job.status === "failed") {
      buttons.push(el("button", {
        type: "button", class: "primary", data: { action: "retry" },
        onclick: () => act(job.status === "dead_letter"
          ? `Retry job ${id} now? It leaves the dead letter queue with its attempts reset.`
          : `Run job ${id}'s next attempt now instead of after its backoff?`,
        `/api/jobs/${id}/retry`, undefined, (r) => `Job ${r.id} retried: it is ${r.status} and due now.`),
      }, "Retry now"));
    }
    if (["pending", "failed", "running"].includes(job.status)) {
      buttons.push(el("button", {
        type: "button", data: { action: "cancel" },
        onclick: () => act(`Cancel job ${id}? It will never run (again).`, `/api/jobs/${id}/cancel`, undefined,
          (r) => r.cancelled ? `Job ${r.id} cancelled (it was ${r.previous_status}).` : `Job ${r.id} had finished already (${r.previous_status}); nothing changed.`),
      }, "Cancel"));
    }
    if (job.status !== "running") {
      buttons.push(el("button", {
        type: "button", class: "danger", data: { action: "delete" },
        onclick: () => act(`Delete job ${id}? Its row is removed for good.`, `/api/jobs/${id}/delete`, undefined,
          (r) => `Job ${r.id} deleted (it was ${r.previous_status}).`),
      }, "Delete"));
    }
    return el("div", { class: "actions", id: "job-actions" }, buttons);
  }

  function renderJob(data) {
    const job = data.job;
    const value = (key) => {
      const v = job[key];
      if (v === null || v === undefined) return "-";
      if (Array.isArray(v)) return v.join(", ");
      return String(v);
    };
    const fields = el("dl", { class: "fields", id: "job-fields" },
      FIELDS.map((key) => [el("dt", {}, key), el("dd", { data: { field: key } }, key === "status" ? badge(job.status) : value(key))]));
    const errors = job.errors.length
      ? el("table", { id: "job-errors" },
        el("thead", {}, el("tr", {}, ["Attempt", "At", "Worker", "Kind", "Message"].map((t) => el("th", {}, t)))),
        el("tbody", {}, job.errors.map((e) => el("tr", {},
          el("td", { class: "num" }, e.attempt), el("td", { class: "mono" }, shortTime(e.at)),
          el("td", { class: "mono" }, e.worker_id || "-"), el("td", {}, e.kind), el("td", {}, e.message)))))
      : el("p", { class: "muted" }, "No failed attempt.");
    const timeline = el("ol", { class: "timeline", id: "job-timeline" }, data.timeline.map((t) =>
      el("li", { class: t.event }, el("span", { class: "when" }, shortTime(t.at)), el("span", { class: "what" }, t.event.replace("_", " ")), t.detail)));
    view().replaceChildren(
      el("h1", {}, "Job ", el("span", { class: "mono" }, job.id), " ", badge(job.status)),
      jobActions(job),
      el("div", { class: "grid2" },
        el("div", { class: "card" }, el("h2", {}, "Columns"), fields),
        el("div", {},
          el("div", { class: "card" }, el("h2", {}, "Payload"), el("pre", { id: "payload" }, JSON.stringify(job.payload, null, 2))),
          el("div", { class: "card" }, el("h2", {}, "Timeline"), timeline))),
      el("div", { class: "card" }, el("h2", {}, "Error history (oldest first)"), errors));
  }

  async function jobPage(mine, id) {
    if (!UUID.test(id)) {
      view().replaceChildren(el("h1", {}, "Job"), el("p", { id: "load-error" }, `'${id}' is not a job id (a UUID).`));
      return;
    }
    try {
      const data = await api("GET", "/api/jobs/" + encodeURIComponent(id));
      if (mine !== generation) return;
      reachable(true);
      renderJob(data);
    } catch (e) {
      if (mine !== generation) return;
      if (unreachable(e)) {
        reachable(false, e);
        timer = setTimeout(() => route(false), session.refresh_s * 1000);
      }
      view().replaceChildren(el("h1", {}, "Job ", el("span", { class: "mono" }, id)), el("p", { id: "load-error" }, e.message));
    }
  }

  // --- routing --------------------------------------------------------------------------

  function route(fromNavigation) {
    clearTimeout(timer);
    const mine = ++generation;
    if (fromNavigation) clearNotice();
    const hash = location.hash.replace(/^#/, "") || "/";
    const [path, query] = hash.split("?");
    document.getElementById("nav-overview").className = path === "/" ? "current" : "";
    document.getElementById("nav-jobs").className = path.startsWith("/job") ? "current" : "";
    if (path === "/jobs") return jobs(mine, new URLSearchParams(query || ""));
    if (path.startsWith("/job/")) return jobPage(mine, decodeURIComponent(path.slice(5)));
    return overview(mine);
  }

  async function start() {
    try {
      session = await api("GET", "/api/session");
    } catch (e) {
      reachable(false, e);
      setTimeout(start, 2000);
      return;
    }
    reachable(true);
    document.getElementById("schema").textContent = "schema " + session.schema;
    document.getElementById("mode").textContent = session.read_only ? "read-only" : "";
    document.getElementById("search").addEventListener("submit", (event) => {
      event.preventDefault();
      const id = document.getElementById("search-id").value.trim();
      if (!UUID.test(id)) {
        notice(`'${id}' is not a job id: paste a UUID like 01a23ac0-44cb-7146-8cf0-a9f44a8835b5.`, true);
        return;
      }
      location.hash = "#/job/" + id.toLowerCase();
    });
    window.addEventListener("hashchange", () => route(true));
    route(true);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
