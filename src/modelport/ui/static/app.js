/* Modelport dashboard core: the one global `MP` every page uses (docs/dashboard.md).
 *
 * Plain ES2020, no build step. Pages are files in pages/ that call MP.page({...}); they fetch
 * JSON from the native API through MP.api (the session cookie + X-CSRF-Token) and build DOM
 * with MP.h, which only ever inserts text as text nodes (never innerHTML with data: XSS).
 */
"use strict";

(function () {
  const API = "/api/v1";
  const SESSION = "/ui/session";
  const HOME = "/endpoints";
  const SIGNIN = "/signin";

  const pages = [];
  let session = null; // {csrf, whoami} once signed in
  let cleanup = null; // what the current page returns: stops its timers and streams
  let renderSeq = 0; // a navigation started after a render began makes its result stale
  let afterSignIn = null; // the hash to go to once signed in
  let booted = false; // boot() ran: a page registered later updates the nav itself

  class ApiError extends Error {
    constructor(status, code, message, field, details) {
      super(message);
      this.name = "ApiError";
      this.status = status; // HTTP status (0: the server could not be reached)
      this.code = code; // the envelope's type, e.g. "not_found", "invalid_request"
      this.field = field || null; // dotted path of the culprit field, e.g. "spec.replicas"
      this.details = details || []; // [{field, message}] for several field errors
    }
  }

  // ---- DOM -------------------------------------------------------------------------------

  /** Element builder. attrs: class, dataset, style (an object), on<event> functions, any
   * attribute; true/false for boolean attributes; value/checked set as properties. Children:
   * strings (text nodes), nodes, arrays, null/undefined/false (skipped). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
      else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (key === "value" || key === "checked" || key === "selected") el[key] = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(el, child);
      else if (child instanceof Node) el.appendChild(child);
      else el.appendChild(document.createTextNode(String(child)));
    }
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
  }

  /** A table of rows: columns [{label, value: row => node|string, cls}]; `empty` shown
   * instead when there are no rows. On a phone each row becomes a card (data-label). */
  function table(columns, rows, opts) {
    const options = opts || {};
    if (!rows || rows.length === 0) {
      return h("p", { class: "muted empty" }, options.empty || "Nothing here yet.");
    }
    const head = h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col", class: c.cls }, c.label))));
    const body = h(
      "tbody",
      null,
      rows.map((row) =>
        h(
          "tr",
          null,
          columns.map((c) => {
            const value = c.value(row);
            return h("td", { class: c.cls, "data-label": c.label }, value === null || value === undefined ? "–" : value);
          })
        )
      )
    );
    return h("div", { class: "table-wrap" }, h("table", { class: "data" }, head, body));
  }

  // ---- HTTP ------------------------------------------------------------------------------

  async function errorFrom(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    const e = (body && body.error) || {};
    const message = typeof e === "string" ? e : e.message || body?.detail || `${response.status} ${response.statusText}`;
    return new ApiError(response.status, e.type || e.code || "http_error", message, e.field, e.details);
  }

  function headers(json) {
    const out = { Accept: "application/json" };
    if (json) out["Content-Type"] = "application/json";
    if (session) out["X-CSRF-Token"] = session.csrf;
    return out;
  }

  async function send(method, url, body) {
    let response;
    try {
      response = await fetch(url, {
        method,
        headers: headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch (exc) {
      throw new ApiError(0, "network", "the server could not be reached", null);
    }
    if (response.status === 401 && url !== SESSION) signedOut();
    if (!response.ok) throw await errorFrom(response);
    if (response.status === 204) return null;
    const type = response.headers.get("content-type") || "";
    return type.includes("json") ? response.json() : response.text();
  }

  /** The native API: `MP.api("GET", "/endpoints?state=ready")`. Throws MP.ApiError. */
  function api(method, path, body) {
    return send(method.toUpperCase(), API + path, body);
  }

  /** POST to a gateway path and hand each SSE `data:` JSON event to onEvent.
   * Returns {done: Promise (resolves {aborted} / rejects ApiError), abort()}. */
  function stream(path, body, onEvent) {
    const controller = new AbortController();
    const done = (async () => {
      let response;
      try {
        response = await fetch(path, {
          method: "POST",
          headers: { ...headers(true), Accept: "text/event-stream" },
          body: JSON.stringify(body),
          credentials: "same-origin",
          signal: controller.signal,
        });
      } catch (exc) {
        if (controller.signal.aborted) return { aborted: true };
        throw new ApiError(0, "network", "the server could not be reached", null);
      }
      if (response.status === 401) signedOut();
      if (!response.ok) throw await errorFrom(response);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      try {
        for (;;) {
          const { value, done: end } = await reader.read();
          if (end) break;
          buffer += decoder.decode(value, { stream: true });
          let newline;
          while ((newline = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, newline).replace(/\r$/, "");
            buffer = buffer.slice(newline + 1);
            if (!line.startsWith("data:")) continue;
            const data = line.slice(5).trim();
            if (data === "[DONE]") return { aborted: false };
            if (data) onEvent(JSON.parse(data));
          }
        }
      } catch (exc) {
        if (controller.signal.aborted) return { aborted: true };
        throw exc;
      }
      return { aborted: false };
    })();
    return { done, abort: () => controller.abort() };
  }

  // ---- timers, feedback ------------------------------------------------------------------

  /** Calls fn now and every `ms` (a call still running is not overlapped); returns stop().
   * A failing call shows one toast per failure streak; polling goes on. */
  function poll(fn, ms) {
    let stopped = false;
    let running = false;
    let failing = false;
    const tick = async () => {
      if (stopped || running) return;
      running = true;
      try {
        await fn();
        failing = false;
      } catch (exc) {
        if (!failing && !stopped && !(exc instanceof ApiError && exc.status === 401)) toast(exc.message, "error");
        failing = true;
      } finally {
        running = false;
      }
    };
    tick();
    const id = setInterval(tick, ms);
    return () => {
      stopped = true;
      clearInterval(id);
    };
  }

  function toast(message, kind) {
    const region = document.getElementById("toasts");
    const tone = kind === "error" ? "error" : "ok";
    const item = h(
      "div",
      { class: `toast toast-${tone}`, role: tone === "error" ? "alert" : "status" },
      h("span", null, tone === "error" ? "Error: " : "", message),
      h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss", onclick: () => item.remove() }, "×")
    );
    region.appendChild(item);
    setTimeout(() => item.remove(), tone === "error" ? 8000 : 4000);
  }

  /** A modal dialog (native <dialog>: focus stays inside, Escape cancels); resolves true/false. */
  function confirm(message, opts) {
    const options = opts || {};
    return new Promise((resolve) => {
      const ok = h("button", { type: "submit", value: "ok", class: options.danger ? "danger" : "primary" }, options.confirmLabel || (options.danger ? "Delete" : "Confirm"));
      const dialog = h(
        "dialog",
        { class: "confirm", "aria-labelledby": "confirm-title" },
        h(
          "form",
          { method: "dialog" },
          h("h2", { id: "confirm-title" }, options.title || "Are you sure?"),
          h("p", null, message),
          h("div", { class: "actions" }, h("button", { type: "submit", value: "cancel" }, "Cancel"), ok)
        )
      );
      dialog.addEventListener("close", () => {
        resolve(dialog.returnValue === "ok");
        dialog.remove();
      });
      document.body.appendChild(dialog);
      dialog.showModal();
      ok.focus();
    });
  }

  /** Shows an ApiError's field message(s) next to the form's inputs (name = dotted field);
   * clears earlier ones. A message no input matches goes in a box at the top of the form.
   * Returns true when some input was marked. */
  function fieldErrors(form, error) {
    for (const old of form.querySelectorAll(".field-error, .form-error")) old.remove();
    for (const input of form.querySelectorAll("[aria-invalid]")) {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-errormessage");
    }
    if (!error) return false;
    const items = error.details && error.details.length ? error.details : [{ field: error.field, message: error.message }];
    let first = null;
    const unmatched = [];
    items.forEach((item, i) => {
      const input = item.field ? form.querySelector(`[name="${CSS.escape(item.field)}"]`) : null;
      if (!input) {
        unmatched.push(item.message);
        return;
      }
      const id = `err-${i}-${Math.random().toString(36).slice(2, 8)}`;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-errormessage", id);
      const note = h("p", { class: "field-error", id, role: "alert" }, item.message);
      (input.closest(".field") || input).insertAdjacentElement(input.closest(".field") ? "beforeend" : "afterend", note);
      first = first || input;
    });
    if (unmatched.length) form.prepend(h("p", { class: "form-error", role: "alert" }, unmatched.join("; ")));
    if (first) first.focus();
    return first !== null;
  }

  // ---- charts ----------------------------------------------------------------------------

  const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2"];

  /** A uPlot line chart filling `el`: t = unix seconds, series [{label, values}].
   * Returns {update(t, seriesValues), destroy()}. */
  function chart(el, spec) {
    const unit = spec.unit || "";
    const opts = {
      title: spec.title,
      width: Math.max(el.clientWidth || 300, 200),
      height: spec.height || 180,
      scales: { x: { time: true } },
      axes: [{}, { values: (u, ticks) => ticks.map((v) => `${fmt.num(v)}${unit ? " " + unit : ""}`), size: 70 }],
      series: [{}].concat(
        spec.series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true }))
      ),
      legend: { show: true },
    };
    el.classList.add("chart");
    el.setAttribute("role", "img");
    el.setAttribute("aria-label", spec.title || "chart");
    const data = [spec.t || []].concat(spec.series.map((s) => s.values || []));
    const plot = new uPlot(opts, data, el);
    const observer = new ResizeObserver(() => {
      const width = Math.max(el.clientWidth, 200);
      if (width !== plot.width) plot.setSize({ width, height: opts.height });
    });
    observer.observe(el);
    return {
      update(t, seriesValues) {
        plot.setData([t].concat(seriesValues));
      },
      destroy() {
        observer.disconnect();
        plot.destroy();
      },
    };
  }

  // ---- formatting, small widgets ---------------------------------------------------------

  const fmt = {
    ago(iso) {
      if (!iso) return "–";
      const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
      if (Number.isNaN(seconds)) return "–";
      if (seconds < 5) return "just now";
      if (seconds < 60) return `${seconds} s ago`;
      if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
      if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
      return `${Math.floor(seconds / 86400)} d ago`;
    },
    num(n) {
      if (n === null || n === undefined || Number.isNaN(n)) return "–";
      return Number(n).toLocaleString("en-US", { maximumFractionDigits: Math.abs(n) < 10 ? 2 : 1 });
    },
    ms(n) {
      if (n === null || n === undefined) return "–";
      return n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${Math.round(n)} ms`;
    },
    money(n, currency) {
      if (n === null || n === undefined) return "–";
      try {
        return new Intl.NumberFormat("en-US", { style: "currency", currency: currency || "USD", maximumFractionDigits: 4 }).format(n);
      } catch (_) {
        return `${Number(n).toFixed(2)} ${currency || ""}`.trim();
      }
    },
  };

  // The tone of each endpoint phase / replica state; the text is always shown too.
  const TONES = {
    ready: "ok", running: "ok",
    deploying: "warn", updating: "warn", pending: "warn", starting: "warn", draining: "warn",
    stopping: "warn", deleting: "warn", degraded: "warn",
    failed: "bad",
    idle: "muted", stopped: "muted", deleted: "muted",
  };

  function state(phase) {
    const name = String(phase || "unknown");
    return h("span", { class: `badge tone-${TONES[name] || "muted"}`, dataset: { state: name } }, name);
  }

  function go(hash) {
    const target = hash.startsWith("#") ? hash : `#${hash}`;
    if (location.hash === target) route();
    else location.hash = target;
  }

  /** A "Copy" button for a snippet; `text` may be a function (read at click time). */
  function copy(text, label) {
    const button = h("button", { type: "button", class: "copy", "aria-label": label || "Copy to clipboard" }, "Copy");
    button.addEventListener("click", async () => {
      const value = typeof text === "function" ? text() : text;
      try {
        await navigator.clipboard.writeText(value);
      } catch (_) {
        const area = h("textarea", { class: "offscreen", "aria-hidden": "true", readonly: true });
        area.value = value;
        document.body.appendChild(area);
        area.select();
        document.execCommand("copy");
        area.remove();
      }
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = "Copy"), 1500);
    });
    return button;
  }

  /** The query part of the hash (`#/endpoints?q=chat`) as URLSearchParams. */
  function hashQuery() {
    const i = location.hash.indexOf("?");
    return new URLSearchParams(i >= 0 ? location.hash.slice(i + 1) : "");
  }

  // ---- pages, navigation, session --------------------------------------------------------

  function page(spec) {
    pages.push(spec);
    if (booted) renderNav();
  }

  function navHref(p) {
    if (p.nav && p.nav.href) return p.nav.href;
    const src = p.path.source.replace(/^\^/, "").replace(/\$$/, "").replace(/\\\//g, "/");
    return /[()[\]*+?|\\]/.test(src) ? null : `#${src}`;
  }

  function currentPath() {
    const raw = location.hash.replace(/^#/, "") || HOME;
    const i = raw.indexOf("?");
    return i >= 0 ? raw.slice(0, i) : raw;
  }

  function renderNav() {
    const list = document.getElementById("nav-links");
    clear(list);
    if (!session) return;
    const shown = pages.filter((p) => p.nav).sort((a, b) => (a.nav.order || 0) - (b.nav.order || 0));
    for (const p of shown) {
      const href = navHref(p);
      if (href) list.appendChild(h("li", null, h("a", { href, dataset: { page: p.name } }, p.nav.label)));
    }
    const who = document.getElementById("whoami");
    clear(who);
    const w = session.whoami;
    who.appendChild(h("span", { class: "project", title: "project" }, w.project));
    who.appendChild(h("span", { class: "muted" }, ` · ${w.role}${w.server_admin ? " · server admin" : ""}`));
    highlight();
  }

  function highlight(active) {
    for (const a of document.querySelectorAll("#nav-links a")) {
      if (a.dataset.page === active) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
  }

  async function route() {
    const seq = ++renderSeq;
    if (cleanup) {
      try {
        cleanup();
      } catch (exc) {
        console.warn("page cleanup failed", exc);
      }
      cleanup = null;
    }
    document.body.classList.remove("nav-open");
    document.getElementById("nav-toggle").setAttribute("aria-expanded", "false");
    let path = currentPath();
    if (!session && path !== SIGNIN) {
      afterSignIn = location.hash || `#${HOME}`;
      path = SIGNIN;
      history.replaceState(null, "", `#${SIGNIN}`);
    }
    document.body.classList.toggle("signed-out", !session);
    const main = document.getElementById("main");
    clear(main);
    const found = pages.map((p) => ({ p, m: path.match(p.path) })).find((x) => x.m);
    if (!found) {
      document.title = "Not found · Modelport";
      main.appendChild(h("section", { class: "card" }, h("h1", null, "Page not found"), h("p", null, "There is no page at ", h("code", null, path), ". "), h("a", { href: `#${HOME}` }, "Go to endpoints")));
      return;
    }
    const { p, m } = found;
    document.title = `${(p.nav && p.nav.label) || p.title || p.name} · Modelport`;
    highlight(p.name);
    const el = h("div", { class: `page page-${p.name}` });
    main.appendChild(el);
    try {
      const result = await p.render(el, m, { whoami: session ? session.whoami : null });
      if (seq !== renderSeq) {
        if (typeof result === "function") result();
      } else if (typeof result === "function") cleanup = result;
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 401) return;
      console.warn("page render failed", exc);
      if (seq === renderSeq) el.appendChild(h("p", { class: "form-error", role: "alert" }, `This page could not be shown: ${exc.message}`));
    }
  }

  function signedOut() {
    if (!session) return;
    session = null;
    renderNav();
    toast("Your session ended: sign in again", "error");
    route();
  }

  /** POST /ui/session; on success the app is signed in and goes where the user wanted. */
  async function signIn(token) {
    session = await send("POST", SESSION, { token });
    renderNav();
    const next = afterSignIn && afterSignIn !== `#${SIGNIN}` ? afterSignIn : `#${HOME}`;
    afterSignIn = null;
    go(next);
  }

  async function signOut() {
    try {
      await send("DELETE", SESSION);
    } finally {
      session = null;
      renderNav();
      toast("Signed out", "ok");
      go(SIGNIN);
    }
  }

  async function boot() {
    document.getElementById("signout").addEventListener("click", signOut);
    document.querySelector(".skip").addEventListener("click", (event) => {
      event.preventDefault(); // the hash is the router's
      document.getElementById("main").focus();
    });
    const toggle = document.getElementById("nav-toggle");
    toggle.addEventListener("click", () => {
      const open = document.body.classList.toggle("nav-open");
      toggle.setAttribute("aria-expanded", String(open));
    });
    try {
      session = await send("GET", SESSION);
    } catch (_) {
      session = null; // not signed in: the sign-in page
    }
    booted = true;
    renderNav();
    window.addEventListener("hashchange", route);
    await route();
    document.body.dataset.ready = "true"; // tests wait for it
  }

  window.MP = {
    page, api, stream, h, table, poll, toast, confirm, fieldErrors, chart, fmt, state, go, copy,
    ApiError, hashQuery, clear, signIn, signOut,
    get session() {
      return session;
    },
  };
  document.addEventListener("DOMContentLoaded", boot);
})();
