// Create an endpoint: engine or preset from GET /catalog, model, plan with its price,
// resources, env (secrets masked), engine args, probes, autoscaling, async; POST /endpoints.
// The API validates (the form has no rules of its own): its 4xx lands next to the field.
(function () {
  "use strict";
  const h = (...a) => MP.h(...a);
  const F = () => MP.parts.forms;
  const C = () => MP.parts.create;

  // A section switched on by a checkbox: off, its fieldset is disabled and sends nothing.
  function toggled(title, label, name, children) {
    const inner = h("fieldset", { class: "plain", disabled: true }, ...children);
    const on = F().field({ label, name, type: "checkbox" });
    on.control.addEventListener("change", () => { inner.disabled = !on.control.checked; });
    return { node: C().section(title, on.node, inner), on: on.control };
  }

  // --- probes: the engine's default unless asked otherwise -----------------------------------
  function probe(kind, label) {
    const at = (key) => `spec.${kind}.${key}`;
    const fields = [
      F().field({ label: "Protocol", name: at("protocol"),
        options: [["http", "HTTP GET"], ["tcp", "TCP connect"], ["grpc", "gRPC health"]] }),
      F().field({ label: "Path", name: at("path"), hint: "empty: the engine's health route" }),
      C().num("Initial delay (s)", at("initial_delay_seconds"), { min: "0" }, 0),
      C().num("Period (s)", at("period_seconds"), { min: "0.1", step: "0.1" }, 2),
      C().num("Timeout (s)", at("timeout_seconds"), { min: "0.1", step: "0.1" }, 2),
      C().num("Failures before unready", at("failure_threshold"), { min: "1" }, 3),
    ];
    const inner = h("fieldset", { class: "plain grid", disabled: true },
      ...fields.map((f) => f.node));
    const own = F().field({ label: `Custom ${label} probe (else the engine's default)`,
      type: "checkbox", attrs: { dataset: { skip: "" } } });
    own.control.addEventListener("change", () => { inner.disabled = !own.control.checked; });
    return h("div", { class: "probe" }, own.node, inner);
  }

  function autoscale(catalog) {
    const metric = F().field({ label: "Metric", name: "spec.autoscale.rules.0.metric",
      options: catalog.scale_metrics.map((m) => [m, m.replace("_", " ")]) });
    const custom = F().field({ label: "Engine metric (metric custom)",
      name: "spec.autoscale.rules.0.custom_metric_name" });
    return toggled("Autoscaling", "Scale automatically", "spec.autoscale.enabled", [
      h("div", { class: "grid" },
        C().num("Min replicas", "spec.autoscale.min_replicas", { min: "0" }, 1, "0: idle to zero").node,
        C().num("Max replicas", "spec.autoscale.max_replicas", { min: "0" }, 3).node,
        metric.node,
        C().num("Target per replica", "spec.autoscale.rules.0.value", { min: "0", step: "any" }, 4)
          .node,
        custom.node),
    ]);
  }

  function asyncSection(datasets) {
    const dataset = F().field({ label: "Results dataset", name: "spec.async_config.dataset_id",
      options: [["", "choose a dataset"], ...datasets.map((d) => [d.name, d.name])],
      hint: datasets.length ? null : "No dataset yet: create one on the Datasets page." });
    return toggled("Async invocations", "Accept queued (async) requests",
      "spec.async_config.enabled", [h("div", { class: "grid" }, dataset.node,
        C().num("Concurrent workers", "spec.async_config.concurrent_workers", { min: "1" }, 1)
          .node)]);
  }

  // The key of a new endpoint is in create's answer only: show it before leaving.
  function created(el, ep) {
    const open = h("a", { class: "button primary", href: `#/endpoints/${encodeURIComponent(ep.name)}` },
      `Open ${ep.name}`);
    el.replaceChildren(h("section", { class: "card", role: "status" },
      h("h1", null, `Endpoint ${ep.name} created`),
      ep.api_key ? [
        h("p", null, "Its inference key, shown only now (any token of the project works too):"),
        h("p", { class: "row" }, h("code", { class: "secret", dataset: { key: "" } }, ep.api_key),
          MP.copy(ep.api_key)),
      ] : h("p", { class: "muted" }, "It existed already with this spec: no new key."),
      h("p", null, "URL: ", h("code", null, ep.url), MP.copy(ep.url)),
      h("div", { class: "actions" }, open)));
    open.focus();
  }

  async function render(el, ctx) {
    el.replaceChildren(h("p", { class: "muted" }, "Loading the catalog…"));
    const optional = (path) => MP.api("GET", path).then((r) => r.items, () => []);
    const [catalog, models, datasets] = await Promise.all([
      MP.api("GET", "/catalog"), optional("/models"), optional("/datasets")]);
    const ready = models.filter((m) => m.status === "ready");
    const name = F().field({ label: "Name", name: "name", attrs: { autocomplete: "off",
      spellcheck: "false", required: true },
      hint: "Lower-case letters, digits and '-'; it is part of the endpoint's URL." });
    const description = F().field({ label: "Description", name: "spec.description",
      type: "textarea" });
    const engine = C().engine(catalog);
    const model = C().model(ready);
    const resources = C().resources(catalog);
    const args = C().engineArgs();
    const choose = () => {
      const choice = engine.current();
      model.offer(choice);
      resources.gpus(choice.preset ? choice.preset.gpu_count : 0);
    };
    engine.control.addEventListener("change", choose);
    choose();
    const submit = h("button", { type: "submit", class: "primary" }, "Create endpoint");
    const form = h("form", { class: "create", novalidate: true, "aria-label": "Create endpoint" },
      C().section("Endpoint", name.node, description.node),
      engine.node, model.node, resources.node, C().env().node, args.node,
      C().section("Health probes", probe("readiness", "readiness"),
        probe("liveness", "liveness")),
      autoscale(catalog).node, asyncSection(datasets).node,
      h("div", { class: "actions" }, submit));
    if (ctx.whoami && ctx.whoami.role === "viewer") {
      submit.disabled = true;
      form.prepend(h("p", { class: "muted" }, "A viewer token can look, not create."));
    }
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const body = F().collect(form);
      const engineArgs = args.value();
      if (Object.keys(engineArgs).length) body.spec.engine_args = engineArgs;
      const plan = resources.chosen();
      if (plan) body.spec.plan = { sku_item_price_id: plan.price.sku_item_price_id };
      submit.disabled = true;
      try {
        const ep = await MP.api("POST", "/endpoints", body);
        MP.toast(`Endpoint ${ep.name} created`, "ok");
        created(el, ep);
      } catch (err) {
        MP.fieldErrors(form, err);
        MP.toast(err.message, "error");
        submit.disabled = false;
      }
    };
    el.replaceChildren(h("h1", null, "Create an endpoint"), form);
    name.control.focus();
  }

  MP.page({
    name: "create",
    path: /^\/create$/,
    nav: { label: "Create endpoint", order: 15 },
    render(el, match, ctx) {
      render(el, ctx).catch((err) => {
        el.replaceChildren(h("p", { class: "error", role: "alert" },
          `Cannot load the catalog: ${err.message}`));
      });
    },
  });
})();
