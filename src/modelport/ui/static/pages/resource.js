// One shape for the project's simple resources (models, datasets, integrations): a live list
// with per-row actions (delete with confirmation, and any the page adds) and a create form
// whose inputs are named as the API's fields. Each page is this function given data.
//
// MP.parts.resource({name, path, nav, title, intro, api, columns, actions?(item, reload),
//   create: {label, fields: [field spec + only?: [kind values]], extra?(), note?},
//   deleteQuestion(item), below?(reload): node})
(function () {
  "use strict";
  const h = (...a) => MP.h(...a);
  const F = () => MP.parts.forms;
  const enc = encodeURIComponent;

  function createForm(spec, ctx, reload) {
    const made = spec.create.fields.map((f) => ({ f, made: F().field(f) }));
    // Fields with `only` show for some values of the form's "kind" select (integrations).
    const kind = made.find((m) => m.f.name === "kind");
    const wraps = made.map(({ f, made: m }) => {
      if (!f.only) return m.node;
      return Object.assign(h("fieldset", { class: "plain" }, m.node), { only: f.only });
    });
    const showFor = () => {
      for (const wrap of wraps) {
        if (!wrap.only) continue;
        wrap.hidden = !wrap.only.includes(kind.made.control.value);
        wrap.disabled = wrap.hidden;
      }
    };
    if (kind) kind.made.control.addEventListener("change", showFor);
    showFor();
    const submit = h("button", { type: "submit", class: "primary" }, spec.create.label);
    const form = h("form", { novalidate: true, "aria-label": spec.create.label },
      h("div", { class: "grid" }, wraps), spec.create.note || null,
      h("div", { class: "actions" }, submit));
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      try {
        const item = await MP.api("POST", spec.api, F().collect(form));
        MP.fieldErrors(form, null);
        form.reset();
        showFor();
        MP.toast(`${spec.noun} ${item.name} created`, "ok");
        await reload();
      } catch (err) {
        MP.fieldErrors(form, err);
        MP.toast(err.message, "error");
      } finally {
        submit.disabled = false;
      }
    };
    if (ctx.whoami && ctx.whoami.role === "viewer") {
      submit.disabled = true;
      form.prepend(h("p", { class: "muted" }, "A viewer token can look, not change."));
    }
    return h("section", { class: "card", "aria-label": spec.create.label },
      h("h2", null, spec.create.label), form);
  }

  function remove(spec, item, reload) {
    return h("button", {
      type: "button", class: "danger", dataset: { action: "delete", item: item.name },
      "aria-label": `Delete ${spec.noun.toLowerCase()} ${item.name}`,
      onclick: async () => {
        if (!(await MP.confirm(spec.deleteQuestion(item), { danger: true }))) return;
        try {
          await MP.api("DELETE", `${spec.api}/${enc(item.name)}`);
          MP.toast(`${spec.noun} ${item.name} deleted`, "ok");
        } catch (err) {
          MP.toast(err.message, "error");
        }
        await reload();
      },
    }, "Delete");
  }

  function render(spec, el, ctx) {
    const list = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading…"));
    let shown = null; // the JSON last drawn: an unchanged poll leaves the DOM (and focus) alone
    const reload = async () => {
      const items = (await MP.api("GET", spec.api)).items;
      const text = JSON.stringify(items);
      if (text === shown) return;
      shown = text;
      const columns = [...spec.columns, { label: "Actions", value: (item) =>
        h("div", { class: "actions" }, spec.actions ? spec.actions(item, reload) : null,
          remove(spec, item, reload)) }];
      list.replaceChildren(MP.table(columns, items, { empty: spec.empty }));
    };
    const force = () => { shown = null; return reload(); };
    el.replaceChildren(h("h1", null, spec.title), h("p", { class: "muted" }, spec.intro),
      h("section", { class: "card" }, list),
      spec.create ? createForm(spec, ctx, force) : null,
      spec.below ? spec.below(force) : null);
    return MP.poll(reload, 5000);
  }

  MP.parts = MP.parts || {};
  MP.parts.resource = (spec) => MP.page({
    name: spec.name, path: spec.path, nav: spec.nav,
    render: (el, match, ctx) => render(spec, el, ctx),
  });
})();
