// Endpoint detail: state and facts, copy-paste snippets, actions (start, stop, restart,
// scale, edit spec, delete), then the live panels of endpoint-live.js.
(function () {
  "use strict";
  const h = (...a) => MP.h(...a);
  const enc = encodeURIComponent;

  // --- snippets with the endpoint's own URL ----------------------------------------------
  function snippets(ep) {
    const model = JSON.stringify(ep.name);
    const curl = [
      `curl ${ep.url}/chat/completions \\`,
      '  -H "Authorization: Bearer $MODELPORT_TOKEN" \\',
      '  -H "Content-Type: application/json" \\',
      `  -d '{"model": ${model}, "messages": [{"role": "user", "content": "Hello!"}]}'`,
    ].join("\n");
    const python = [
      "import os",
      "from openai import OpenAI",
      "",
      `client = OpenAI(base_url="${ep.url}", api_key=os.environ["MODELPORT_TOKEN"])`,
      "reply = client.chat.completions.create(",
      `    model=${model}, messages=[{"role": "user", "content": "Hello!"}]`,
      ")",
      "print(reply.choices[0].message.content)",
    ].join("\n");
    const block = (label, id, text) => h("div", { class: "snippet" },
      h("div", { class: "row" }, h("h3", { id }, label), MP.copy(text)),
      h("pre", { "aria-labelledby": id, dataset: { snippet: id } }, h("code", null, text)));
    return h("section", { class: "card", "aria-labelledby": "use-h" },
      h("h2", { id: "use-h" }, "Call it"),
      h("p", { class: "muted" }, "Any token of this project, or the endpoint's own key, in ",
        h("code", null, "$MODELPORT_TOKEN"), "."),
      block("curl", "snippet-curl", curl), block("Python (openai)", "snippet-python", python));
  }

  // --- header: facts updated in place so inputs keep focus --------------------------------
  const FACTS = [
    ["Desired", (ep) => ep.desired_state],
    ["Replicas", (ep) => `${ep.replicas.ready} ready of ${ep.replicas.desired}`],
    ["Engine", (ep) => ep.spec.framework],
    ["Model", (ep) => { const m = ep.spec.model; return m.path || m.hf_id || m.model_id || m.image || "-"; }],
    ["Autoscaling", (ep) => (ep.spec.autoscale.enabled
      ? `on, ${ep.spec.autoscale.min_replicas}-${ep.spec.autoscale.max_replicas}` : "off")],
    ["Generation", (ep) => String(ep.generation)],
    ["Created", (ep) => MP.fmt.ago(ep.created_at)],
  ];

  function header(name) {
    const badge = h("span", { class: "phase" });
    const values = FACTS.map(([label]) => h("dd", { dataset: { fact: label.toLowerCase() } }));
    const url = h("code", { class: "url" });
    const urlCopy = h("span");
    const node = h("section", { class: "card endpoint-head" },
      h("div", { class: "row" }, h("h1", null, name), badge),
      h("dl", { class: "facts" },
        FACTS.map(([label], i) => [h("dt", null, label), values[i]]),
        h("dt", null, "URL"), h("dd", null, url, urlCopy)));
    let phase = null;
    return {
      node,
      show(ep) {
        if (ep.phase !== phase) {
          phase = ep.phase;
          badge.replaceChildren(MP.state(ep.phase));
        }
        FACTS.forEach(([, value], i) => { values[i].textContent = value(ep); });
        if (url.textContent !== ep.url) {
          url.textContent = ep.url;
          urlCopy.replaceChildren(MP.copy(ep.url));
        }
      },
    };
  }

  // --- actions ------------------------------------------------------------------------------
  function actions(name, ctx, current, onChanged) {
    const act = (label, verb, question, opts = {}) => h("button", {
      type: "button", class: opts.danger ? "danger" : null, dataset: { action: verb },
      onclick: async () => {
        if (!(await MP.confirm(question, { danger: !!opts.danger }))) return;
        try {
          const res = verb === "delete"
            ? await MP.api("DELETE", `/endpoints/${enc(name)}`)
            : await MP.api("POST", `/endpoints/${enc(name)}/${verb}`);
          MP.toast(res.message, "ok");
          if (verb === "delete") MP.go("/endpoints");
          else onChanged(res.endpoint);
        } catch (err) {
          MP.toast(err.message, "error");
        }
      },
    }, label);
    const start = act("Start", "start", `Start ${name}? Its replicas come up.`);
    const stop = act("Stop", "stop", `Stop ${name}? Replicas drain and stop; the spec and URL are kept.`);
    const restart = act("Restart", "restart", `Restart ${name}? Replicas are replaced one by one.`);
    const del = act("Delete", "delete",
      `Delete ${name}? Its replicas stop and the endpoint, its URL and its keys are gone.`,
      { danger: true });

    const count = h("input", { id: "scale-replicas", name: "replicas", type: "number", min: "0",
      max: "1000", required: true, inputmode: "numeric" });
    const scale = h("form", { class: "row scale", "aria-label": "Scale" },
      h("label", { for: "scale-replicas" }, "Replicas wanted"), count,
      h("button", { type: "submit", dataset: { action: "scale" } }, "Scale"));
    scale.onsubmit = async (ev) => {
      ev.preventDefault();
      const n = Number(count.value);
      const ep = current();
      if (!(await MP.confirm(`Scale ${name} from ${ep.spec.replicas} to ${n} replicas?`))) return;
      try {
        const res = await MP.api("PATCH", `/endpoints/${enc(name)}`,
          { spec: { replicas: n }, generation: ep.generation });
        MP.toast(`${name}: ${n} replicas wanted`, "ok");
        onChanged(res);
      } catch (err) {
        MP.fieldErrors(scale, err.field === "spec.replicas" ? { ...err, field: "replicas" } : err);
        MP.toast(err.message, "error");
      }
    };
    const readOnly = ctx.whoami && ctx.whoami.role === "viewer";
    const node = h("div", { class: "actions", role: "group", "aria-label": "Actions" },
      start, stop, restart, scale,
      h("a", { class: "button", href: `#/playground/${enc(name)}` }, "Open in playground"), del,
      readOnly ? h("p", { class: "muted" }, "A viewer token can look, not change.") : null);
    let scaledTo = null;
    return {
      node,
      show(ep) {
        const running = ep.desired_state === "running";
        const gone = ep.desired_state === "deleted";
        for (const b of [start, stop, restart, del]) b.disabled = readOnly || gone;
        start.disabled = start.disabled || running;
        stop.disabled = stop.disabled || !running;
        restart.disabled = restart.disabled || !running;
        for (const el of scale.elements) el.disabled = readOnly || gone || ep.spec.autoscale.enabled;
        // Follow the spec unless the user is typing another number.
        if (document.activeElement !== count && scaledTo !== ep.spec.replicas) {
          count.value = String(ep.spec.replicas);
          scaledTo = ep.spec.replicas;
        }
      },
    };
  }

  // --- spec editor: JSON of the spec; a PATCH of the top-level fields that changed ------
  // Unset (null) fields are left out of the text; one typed back as null is sent as null.
  function pruned(value) {
    if (Array.isArray(value)) return value.map(pruned);
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(Object.entries(value)
      .filter(([, v]) => v !== null).map(([k, v]) => [k, pruned(v)]));
  }

  function changedFields(before, after) {
    const out = {};
    for (const key of Object.keys(after)) {
      if (JSON.stringify(after[key]) !== JSON.stringify(before[key])) out[key] = after[key];
    }
    return out;
  }

  function specEditor(name, ctx, current, onChanged) {
    const area = h("textarea", { id: "spec-json", name: "spec", rows: "18", spellcheck: "false" });
    const problem = h("p", { class: "error", role: "alert", hidden: true });
    const form = h("form", { class: "spec-editor" },
      h("label", { for: "spec-json" }, "Spec (JSON; secret values stay masked and are kept)"),
      area, problem,
      h("div", { class: "actions" },
        h("button", { type: "submit", dataset: { action: "patch" } }, "Apply changes"),
        h("button", { type: "button", onclick: () => load() }, "Reset")));
    const node = h("details", { class: "card" }, h("summary", null, "Edit spec"), form);
    const load = () => {
      area.value = JSON.stringify(pruned(current().spec), null, 2);
      problem.hidden = true;
    };
    // Filled now and again on each opening: "toggle" fires a task after the click, so an
    // editor filled only there is empty for a moment after it opens.
    load();
    node.addEventListener("toggle", () => { if (node.open) load(); });
    const fail = (message) => { problem.textContent = message; problem.hidden = false; };
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      let spec;
      try {
        spec = JSON.parse(area.value);
      } catch (err) {
        return fail("spec: not valid JSON: " + err.message);
      }
      const ep = current();
      const changes = changedFields(pruned(ep.spec), spec);
      const keys = Object.keys(changes);
      if (!keys.length) return fail("Nothing changed.");
      if (!(await MP.confirm(`Change ${keys.join(", ")} of ${name}? Changes to what replicas ` +
        "run (engine, model, args, env, resources, probes) replace them one by one."))) return;
      try {
        const res = await MP.api("PATCH", `/endpoints/${enc(name)}`,
          { spec: changes, generation: ep.generation });
        MP.toast(`${name}: generation ${res.generation}`, "ok");
        onChanged(res);
        load();
      } catch (err) {
        fail(err.status === 409 ? err.message + " (Reset reads the current spec.)" : err.message);
      }
    };
    if (ctx.whoami && ctx.whoami.role === "viewer") area.readOnly = true;
    return { node };
  }

  MP.page({
    name: "endpoint",
    path: /^\/endpoints\/([a-z0-9][a-z0-9-]*)$/,
    nav: null,
    render(el, match, ctx) {
      const name = match[1];
      const live = MP.parts.endpointLive;
      let ep = null;
      const head = header(name);
      const changed = (fresh) => { ep = fresh; head.show(ep); acts.show(ep); };
      const acts = actions(name, ctx, () => ep, changed);
      const replicas = live.replicasPanel(name, !(ctx.whoami && ctx.whoami.role === "viewer"));
      const missing = h("p", { class: "error", role: "alert", hidden: true });
      const content = h("div", { class: "endpoint-content" });
      el.append(h("p", null, h("a", { href: "#/endpoints" }, "← Endpoints")), missing, content);
      const stops = [];
      const stopPanels = () => { while (stops.length) stops.pop()(); };
      let built = false;

      const stopMain = MP.poll(async () => {
        let fresh, reps;
        try {
          [fresh, reps] = await Promise.all([
            MP.api("GET", `/endpoints/${enc(name)}`),
            MP.api("GET", `/endpoints/${enc(name)}/replicas`),
          ]);
        } catch (err) {
          if (err.status !== 404) throw err;
          missing.textContent = `No endpoint ${name} in this project (deleted?).`;
          missing.hidden = false;
          content.hidden = true; // nothing left to show or act on
          stopPanels();
          return;
        }
        if (!missing.hidden) return; // gone once: a new endpoint of that name is another one
        changed(fresh);
        replicas.show(reps.items);
        if (built) return;
        built = true; // the rest once the endpoint is known
        const graphs = live.graphsPanel(name);
        const events = live.eventsPanel(name);
        const logs = live.logsPanel(name);
        stops.push(graphs.stop, events.stop, logs.stop);
        content.append(head.node, acts.node, graphs.node, replicas.node, events.node, logs.node,
          snippets(ep), specEditor(name, ctx, () => ep, changed).node);
      }, 1000);
      return () => { stopMain(); stopPanels(); };
    },
  });
})();
