/* The endpoints list: state, replicas ready/desired, engine, model, URL, created. Filters go to
   the API's list query (phase, framework, name_prefix); the list refreshes every second. */
"use strict";

(function () {
  const PHASES = ["deploying", "ready", "updating", "degraded", "failed", "pending", "idle", "stopping", "stopped", "deleting"];
  const FRAMEWORKS = ["llamacpp", "vllm", "sglang", "dynamo", "triton", "torchserve", "tensorrt", "custom"];

  function modelOf(spec) {
    const m = spec.model || {};
    return m.hf_id || m.model_id || m.path || m.image || (spec.command || []).join(" ") || null;
  }

  function select(id, name, label, values) {
    return MP.h("div", { class: "field" }, MP.h("label", { for: id }, label),
      MP.h("select", { id, name }, MP.h("option", { value: "" }, "any"), values.map((v) => MP.h("option", { value: v }, v))));
  }

  MP.page({
    name: "endpoints",
    path: /^\/endpoints$/,
    nav: { label: "Endpoints", order: 10 },
    render(el, _match, ctx) {
      const { h } = MP;
      const mayCreate = ctx.whoami.role !== "viewer" && ctx.whoami.endpoint_id === null;
      const filters = h("form", { class: "inline card", role: "search", "aria-label": "Filter endpoints" },
        h("div", { class: "field" }, h("label", { for: "ep-search" }, "Name starts with"),
          h("input", { id: "ep-search", name: "name_prefix", type: "search", autocomplete: "off", placeholder: "e.g. chat" })),
        select("ep-phase", "phase", "State", PHASES),
        select("ep-framework", "framework", "Engine", FRAMEWORKS));
      const query = MP.hashQuery();
      for (const input of filters.elements) if (query.get(input.name)) input.value = query.get(input.name);
      const list = h("section", { "aria-live": "polite", "aria-label": "Endpoints" });
      el.append(
        h("div", { class: "row" }, h("h1", null, "Endpoints"), h("span", { class: "spacer" }),
          mayCreate && h("a", { class: "button primary", href: "#/create" }, "New endpoint")),
        filters, list);

      const params = () => {
        const p = new URLSearchParams({ limit: "200" });
        for (const input of filters.elements) if (input.value) p.set(input.name, input.name === "name_prefix" ? input.value.trim().toLowerCase() : input.value);
        return p;
      };
      const columns = [
        { label: "Name", value: (e) => h("a", { href: `#/endpoints/${encodeURIComponent(e.name)}` }, e.name) },
        { label: "State", value: (e) => MP.state(e.phase) },
        { label: "Replicas", cls: "num", value: (e) => `${e.replicas.ready}/${e.replicas.desired}` },
        { label: "Engine", value: (e) => e.spec.framework },
        { label: "Model", value: (e) => { const m = modelOf(e.spec); return m ? h("span", { class: "mono" }, m) : null; } },
        { label: "URL", value: (e) => h("span", { class: "row" }, h("code", null, e.url), MP.copy(e.url, `Copy the URL of ${e.name}`)) },
        { label: "Created", value: (e) => h("time", { datetime: e.created_at, title: e.created_at }, MP.fmt.ago(e.created_at)) },
      ];
      let shown = "";
      const load = async () => {
        const p = params();
        const page = await MP.api("GET", `/endpoints?${p}`);
        const key = JSON.stringify(page.items.map((e) => [e.name, e.phase, e.replicas, e.created_at, e.url, e.spec.framework, modelOf(e.spec)]));
        if (key === shown) return; // nothing changed: keep focus and selection in place
        shown = key;
        const filtered = [...p.keys()].some((k) => k !== "limit");
        MP.clear(list);
        list.append(MP.table(columns, page.items, { empty: filtered ? "No endpoint matches these filters." : "No endpoints yet: create one." }));
        if (page.next_cursor) list.append(h("p", { class: "muted" }, "Showing the first 200; narrow the filters to see others."));
      };
      const stop = MP.poll(load, 1000);
      filters.addEventListener("input", () => {
        const p = params();
        p.delete("limit");
        history.replaceState(null, "", `#/endpoints${[...p.keys()].length ? "?" + p : ""}`);
        shown = "";
        load().catch((exc) => MP.toast(exc.message, "error"));
      });
      filters.addEventListener("submit", (event) => event.preventDefault());
      return stop;
    },
  });
})();
