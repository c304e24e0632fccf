// Form helpers shared by the create, models, datasets and integrations pages.
// An input's `name` is the dotted path of its value in the request body ("spec.resources.cpu",
// "spec.env.0.name"), the same path the API names in a 4xx, so MP.fieldErrors finds it and
// collect() builds the body from the form alone. Disabled controls (or those inside a disabled
// fieldset) and those marked data-skip are left out; empty text and number inputs too.
(function () {
  "use strict";
  const h = (...a) => MP.h(...a);
  let seq = 0;

  // A labelled control: {label, name, type, value, options: [[value, text]], hint, attrs}.
  function field(spec) {
    const id = spec.id || `f${++seq}`;
    const attrs = { id, name: spec.name || null, ...(spec.attrs || {}) };
    let control;
    if (spec.options) {
      control = h("select", attrs,
        spec.options.map(([value, text]) => h("option", { value }, text)));
    } else if (spec.type === "textarea") {
      control = h("textarea", { rows: "3", ...attrs });
    } else {
      control = h("input", { type: spec.type || "text", ...attrs });
    }
    if (spec.value !== undefined && spec.value !== null) {
      if (spec.type === "checkbox") control.checked = !!spec.value;
      else control.value = String(spec.value);
    }
    if (spec.kind) control.dataset.kind = spec.kind;
    const hint = spec.hint ? h("small", { class: "muted" }, spec.hint) : null;
    const label = h("label", { for: id }, spec.label);
    const wrap = spec.type === "checkbox"
      ? h("div", { class: "field check" }, control, label, hint)
      : h("div", { class: "field" }, label, control, hint);
    return { node: wrap, control };
  }

  function setPath(target, path, value) {
    const parts = path.split(".");
    let here = target;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1]);
      if (last) here[part] = value;
      else here = here[part] = here[part] || (nextIsIndex ? [] : {});
    });
  }

  // "8" -> 8, "true" -> true, else the text: engine args and scale values typed as in YAML.
  function typed(text) {
    if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    if (text === "true" || text === "false") return text === "true";
    return text;
  }

  function valueOf(el) {
    if (el.type === "checkbox") return el.checked;
    const text = el.value.trim();
    if (text === "") return undefined;
    if (el.type === "number") return Number(text);
    if (el.dataset.kind === "argv") return text.split(/\s+/);
    if (el.dataset.kind === "auto") return typed(text);
    return el.type === "password" || el.tagName === "TEXTAREA" ? el.value : text;
  }

  function collect(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.matches(":disabled") || "skip" in el.dataset) continue;
      if (el.type === "checkbox" && !el.checked && el.dataset.kind !== "bool") continue;
      const value = valueOf(el);
      if (value !== undefined) setPath(body, el.name, value);
    }
    return body;
  }

  // Rows of controls under one list path ("spec.env"): add, remove, renumbered on removal so
  // the API's "spec.env.1.name" still names the row the user sees second.
  function rows(opts) {
    const list = h("div", { class: "rows", role: "list" });
    const renumber = () => {
      [...list.children].forEach((row, i) => {
        row.setAttribute("aria-label", `${opts.noun} ${i + 1}`);
        for (const el of row.querySelectorAll("[data-sub]")) {
          el.name = `${opts.path}.${i}.${el.dataset.sub}`;
        }
      });
    };
    const add = (initial) => {
      const row = h("div", { class: "row kv", role: "listitem" });
      opts.build(row, initial || {});
      row.append(h("button", {
        type: "button", class: "link", "aria-label": `Remove ${opts.noun}`,
        onclick: () => { row.remove(); renumber(); },
      }, "Remove"));
      list.append(row);
      renumber();
      return row;
    };
    const node = h("div", { class: "row-list" }, list,
      h("button", { type: "button", onclick: () => add() }, `Add ${opts.noun}`));
    return { node, add, list };
  }

  // A control inside a rows() row: its `data-sub` is the key under the row's index.
  function sub(label, key, attrs, value) {
    const made = field({ label, attrs: { ...attrs, dataset: { sub: key } }, value,
      type: attrs.type });
    return made;
  }

  MP.parts = MP.parts || {};
  MP.parts.forms = { field, collect, rows, sub, typed };
})();
