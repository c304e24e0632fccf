/* Tokens of the signed-in project: create (the secret is shown once, with a copy button) and
   revoke (with confirmation). Needs an admin token; others see why not. */
"use strict";

MP.page({
  name: "tokens",
  path: /^\/tokens$/,
  nav: { label: "Tokens", order: 80 },
  async render(el, _match, ctx) {
    const { h } = MP;
    el.append(h("h1", null, "Tokens"));
    if (ctx.whoami.role !== "admin" || ctx.whoami.endpoint_id !== null) {
      el.append(h("p", { class: "card muted" }, `Managing tokens needs an admin token; this one is a ${ctx.whoami.role} token.`));
      return;
    }
    const created = h("div", { "aria-live": "polite" });
    const name = h("input", { id: "tok-name", name: "name", required: true, maxlength: "100", autocomplete: "off" });
    const role = h("select", { id: "tok-role", name: "role" }, ["member", "viewer", "admin"].map((r) => h("option", { value: r }, r)));
    const form = h("form", { class: "card", novalidate: true, "aria-labelledby": "tok-new" },
      h("h2", { id: "tok-new" }, "New token"),
      h("div", { class: "row" },
        h("div", { class: "field" }, h("label", { for: "tok-name" }, "Name"), name),
        h("div", { class: "field" }, h("label", { for: "tok-role" }, "Role"), role)),
      h("p", { class: "hint" }, "admin: everything, tokens included; member: create, change and call endpoints; viewer: read and call."),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create token")));
    const list = h("section", { class: "card", "aria-labelledby": "tok-list" }, h("h2", { id: "tok-list" }, "Tokens of this project"));
    const body = h("div");
    list.append(body);
    el.append(form, created, list);

    const load = async () => {
      const page = await MP.api("GET", "/tokens");
      MP.clear(body);
      body.append(MP.table([
        { label: "Name", value: (t) => t.name },
        { label: "Role", value: (t) => t.role },
        { label: "Prefix", value: (t) => h("code", null, `${t.prefix}…`) },
        { label: "Scope", value: (t) => (t.endpoint_id === null ? "project" : `endpoint #${t.endpoint_id}`) },
        { label: "Created", value: (t) => h("time", { datetime: t.created_at, title: t.created_at }, MP.fmt.ago(t.created_at)) },
        { label: "", value: (t) => t.id === ctx.whoami.token_id
            ? h("span", { class: "muted" }, "this session")
            : h("button", { type: "button", class: "danger", "aria-label": `Revoke ${t.name}`, onclick: () => revoke(t) }, "Revoke") },
      ], page.items, { empty: "No tokens." }));
    };

    const revoke = async (t) => {
      const ok = await MP.confirm(`Revoke token "${t.name}"? Every client using it is refused from now on.`, { danger: true, title: "Revoke token", confirmLabel: "Revoke" });
      if (!ok) return;
      try {
        await MP.api("DELETE", `/tokens/${t.id}`);
        MP.toast(`Token "${t.name}" revoked`, "ok");
        await load();
      } catch (exc) {
        MP.toast(exc.message, "error");
      }
    };

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      MP.fieldErrors(form, null);
      try {
        const t = await MP.api("POST", "/tokens", { name: name.value.trim(), role: role.value });
        MP.clear(created);
        created.append(h("section", { class: "card", "aria-labelledby": "tok-secret" },
          h("h2", { id: "tok-secret" }, `Token "${t.name}" created`),
          h("p", null, "Copy it now: it is shown only this once (only its hash is stored)."),
          h("div", { class: "secret" }, h("code", { class: "token-value" }, t.token), MP.copy(t.token, "Copy the new token"))));
        form.reset();
        await load();
      } catch (exc) {
        MP.fieldErrors(form, exc);
      }
    });
    await load();
  },
});
