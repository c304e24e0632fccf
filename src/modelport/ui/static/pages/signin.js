/* Sign in with a token: POST /ui/session sets the HttpOnly session cookie. */
"use strict";

MP.page({
  name: "signin",
  title: "Sign in",
  path: /^\/signin$/,
  nav: null,
  render(el) {
    const { h } = MP;
    const input = h("input", {
      id: "signin-token", name: "token", type: "password", required: true,
      autocomplete: "current-password", spellcheck: "false", "aria-describedby": "signin-hint",
    });
    const button = h("button", { type: "submit", class: "primary" }, "Sign in");
    const form = h(
      "form",
      { class: "card", novalidate: true, "aria-labelledby": "signin-title" },
      h("h1", { id: "signin-title" }, "Sign in to Modelport"),
      h("div", { class: "field" }, h("label", { for: "signin-token" }, "API token"), input,
        h("p", { class: "hint", id: "signin-hint" }, "The admin token the server printed at its first start, or any project token (",
          h("code", null, "modelport tokens create"), "). You see that token's project only.")),
      h("div", { class: "actions" }, button)
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      MP.fieldErrors(form, null);
      if (!input.value.trim()) {
        MP.fieldErrors(form, new MP.ApiError(422, "invalid_request", "token: enter a token", "token"));
        return;
      }
      button.disabled = true;
      try {
        await MP.signIn(input.value);
      } catch (exc) {
        MP.fieldErrors(form, exc);
      } finally {
        button.disabled = false;
      }
    });
    el.appendChild(form);
    input.focus();
  },
});
