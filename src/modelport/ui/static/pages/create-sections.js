// The create form's sections, each a function of the catalog returning {node, ...}. create.js
// lays them out, wires the engine choice to the model and resources sections, and submits.
(function () {
  "use strict";
  const h = (...a) => MP.h(...a);
  const F = () => MP.parts.forms;
  const section = (title, ...children) =>
    h("fieldset", { class: "card" }, h("legend", null, title), ...children);
  const num = (label, name, attrs, value, hint) =>
    F().field({ label, name, type: "number", attrs, value, hint });

  // --- engine: a native engine, or a vendor preset that pins a model onto one ---------------
  function engine(catalog) {
    const options = [];
    for (const e of catalog.engines) {
      const note = e.installed ? "" : " (not installed here)";
      options.push([`engine:${e.framework}`, `${e.display_name}${note}`]);
    }
    for (const p of catalog.presets.filter((p) => p.kind === "model")) {
      options.push([`preset:${p.value}`, `${p.display_name} (${p.engine}, ${p.task})`]);
    }
    const choice = F().field({ label: "Engine or model preset", options,
      attrs: { dataset: { skip: "" } } });
    const framework = h("input", { type: "hidden", name: "spec.framework" });
    const missing = h("p", { class: "muted", role: "status" });
    return {
      node: section("Engine", choice.node, framework, missing),
      control: choice.control,
      // {engine, preset}: the catalog rows the current choice stands for.
      current() {
        const [kind, value] = choice.control.value.split(/:(.*)/s);
        const preset = kind === "preset" ? catalog.presets.find((p) => p.value === value) : null;
        const name = preset ? preset.engine : value;
        const eng = catalog.engines.find((e) => e.framework === name);
        framework.value = eng.framework;
        missing.textContent = eng.installed ? "" : `${eng.missing}. It can still run with ` +
          "the docker or ray runtime.";
        // The engine's own vendor entry holds its supported-model and version lists.
        const vendor = catalog.presets.find((p) => p.kind === "engine" && p.engine === name);
        return { engine: eng, preset, vendor };
      },
    };
  }

  // --- model: one of the spec.model fields the engine takes ----------------------------------
  const SOURCES = {
    path: ["File or directory on the server", "spec.model.path",
      "A GGUF file for llama.cpp. Outside the server's model store this needs host access."],
    hf_id: ["Hugging Face repo", "spec.model.hf_id", "e.g. HuggingFaceTB/SmolLM2-135M-Instruct"],
    model_id: ["Model from this project's repository", "spec.model.model_id", null],
    image: ["Container image", "spec.model.image", "e.g. ghcr.io/org/server:1.2"],
  };

  function model(repoModels) {
    const kind = F().field({ label: "Model source", options: [], attrs: { dataset: { skip: "" } } });
    const suggestions = h("datalist", { id: "hf-suggestions" });
    const inputs = {};
    const wraps = {};
    for (const [key, [label, name, hint]] of Object.entries(SOURCES)) {
      const attrs = key === "hf_id" ? { list: "hf-suggestions" } : {};
      const made = key === "model_id"
        ? F().field({ label, name, hint: repoModels.length ? null : "No ready model yet: " +
            "upload one on the Models page.", options: repoModels.map((m) => [m.name, m.name]) })
        : F().field({ label, name, hint, attrs });
      inputs[key] = made.control;
      wraps[key] = h("fieldset", { class: "plain" }, made.node);
    }
    const command = F().field({ label: "Command (custom engine; {port} is replaced)",
      name: "spec.command", kind: "argv", hint: "e.g. python -m http.server {port}" });
    const commandWrap = h("fieldset", { class: "plain" }, command.node);
    const version = F().field({ label: "Server version", name: "spec.server_version",
      options: [] });
    const versionWrap = h("fieldset", { class: "plain" }, version.node);
    const show = () => {
      for (const [key, wrap] of Object.entries(wraps)) {
        wrap.hidden = key !== kind.control.value;
        wrap.disabled = wrap.hidden;
      }
    };
    kind.control.addEventListener("change", show);
    return {
      node: section("Model", kind.node, ...Object.values(wraps), suggestions, commandWrap,
        versionWrap),
      // Offer the engine's model fields; a preset fills its model in.
      offer(choice) {
        const fields = choice.engine.weights_from;
        kind.control.replaceChildren(...fields.map((f) => h("option", { value: f }, SOURCES[f][0])));
        kind.control.value = choice.preset && choice.preset.hf_id ? "hf_id" : fields[0];
        if (choice.preset && choice.preset.hf_id) inputs.hf_id.value = choice.preset.hf_id;
        const listed = (choice.vendor && choice.vendor.supported_models) || [];
        suggestions.replaceChildren(...listed.map((m) =>
          h("option", { value: m.hf_id }, m.display_name || m.hf_id)));
        const custom = choice.engine.framework === "custom";
        commandWrap.hidden = !custom;
        commandWrap.disabled = !custom;
        const versions = (choice.preset || choice.vendor || {}).server_versions || [];
        version.control.replaceChildren(h("option", { value: "" }, "the engine's default"),
          ...versions.map((v) => h("option", { value: v }, v)));
        versionWrap.hidden = !versions.length;
        versionWrap.disabled = !versions.length;
        show();
      },
    };
  }

  // --- plan and resources: a plan fills the machine shape and shows its price ----------------
  function planLabel(plan, price) {
    const gpu = plan.gpu_count ? `, ${plan.gpu_count}x ${plan.gpu_type}` : "";
    const term = price.sku_type === "hourly" ? "hourly" : `committed ${price.committed_days} days`;
    return `${plan.sku_name}: ${plan.cpu} vCPU, ${plan.memory_mb / 1024} GB${gpu} — ` +
      `${MP.fmt.money(price.price_per_hour, price.currency)}/hour (${term}; ` +
      `${plan.locations.join(", ")})`;
  }

  function resources(catalog) {
    const options = [["", "No plan: set the resources below"]];
    const priced = new Map();
    for (const plan of catalog.plans) {
      for (const price of plan.prices) {
        options.push([String(price.sku_item_price_id), planLabel(plan, price)]);
        priced.set(String(price.sku_item_price_id), { plan, price });
      }
    }
    const plan = F().field({ label: "Plan", name: "plan", options,
      attrs: { dataset: { skip: "" } } });
    const price = h("p", { class: "price", role: "status", "aria-live": "polite" });
    const shape = {
      cpu: num("vCPUs", "spec.resources.cpu", { min: "0.1", step: "0.1" }, 1),
      memory_mb: num("Memory (MB)", "spec.resources.memory_mb", { min: "64", step: "64" }, 1024),
      gpu_count: num("GPUs", "spec.resources.gpu_count", { min: "0" }, 0),
      gpu_type: F().field({ label: "GPU type", name: "spec.resources.gpu_type",
        hint: "e.g. A100-80GB; empty: any" }),
      disk_gb: num("Disk (GB)", "spec.resources.disk_gb", { min: "1" }, null, "empty: no limit"),
    };
    const replicas = num("Replicas", "spec.replicas", { min: "0", max: "1000" }, 1);
    const runtime = F().field({ label: "Runtime", name: "spec.runtime",
      options: [["", "the server's default"], ...catalog.runtimes.map((r) => [r, r])] });
    plan.control.addEventListener("change", () => {
      const chosen = priced.get(plan.control.value);
      price.textContent = chosen
        ? `${MP.fmt.money(chosen.price.price_per_hour, chosen.price.currency)} per replica-hour`
        : "";
      if (!chosen) return;
      for (const key of Object.keys(shape)) {
        const value = chosen.plan[key];
        shape[key].control.value = value === null || value === undefined ? "" : String(value);
      }
    });
    return {
      node: section("Plan and resources", plan.node, price,
        h("div", { class: "grid" }, Object.values(shape).map((f) => f.node), replicas.node,
          runtime.node)),
      chosen: () => priced.get(plan.control.value) || null,
      gpus: (n) => { if (!plan.control.value) shape.gpu_count.control.value = String(n); },
    };
  }

  // --- env: secret values typed into a password input, never shown back ----------------------
  function env() {
    const list = F().rows({ noun: "variable", path: "spec.env", build(row, initial) {
      const name = F().sub("Variable name", "name", { autocomplete: "off", spellcheck: "false" },
        initial.name);
      const secret = F().sub("Secret (masked)", "secret", { type: "checkbox" }, initial.secret);
      const value = F().sub("Variable value", "value", { type: "password", autocomplete: "off" },
        initial.value);
      // Masked while secret (the default); a plain value may be shown.
      secret.control.checked = initial.secret !== false;
      const mask = () => { value.control.type = secret.control.checked ? "password" : "text"; };
      secret.control.addEventListener("change", mask);
      mask();
      row.append(name.node, value.node, secret.node);
    } });
    return { node: section("Environment variables",
      h("p", { class: "muted" }, "Secret values are sealed at rest and masked in every answer."),
      list.node) };
  }

  // --- engine args: flags typed as numbers and booleans where they look like them -----------
  function engineArgs() {
    const list = F().rows({ noun: "argument", path: "engine_args", build(row, initial) {
      const key = F().field({ label: "Flag", value: initial.key,
        attrs: { spellcheck: "false", dataset: { skip: "", arg: "key" } } });
      const value = F().field({ label: "Value", value: initial.value,
        attrs: { dataset: { skip: "", arg: "value" } } });
      // Named like the API's field for it, so an engine's refusal lands next to it.
      const rename = () => { value.control.name = `spec.engine_args.${key.control.value.trim()}`; };
      key.control.addEventListener("input", rename);
      rename();
      row.append(key.node, value.node);
    } });
    return {
      node: section("Engine arguments", list.node),
      list,
      value() {
        const out = {};
        for (const row of list.list.children) {
          const key = row.querySelector("[data-arg=key]");
          const value = row.querySelector("[data-arg=value]");
          if (key.value.trim()) out[key.value.trim()] = F().typed(value.value.trim());
        }
        return out;
      },
    };
  }

  MP.parts = MP.parts || {};
  MP.parts.create = { section, num, engine, model, resources, env, engineArgs };
})();
