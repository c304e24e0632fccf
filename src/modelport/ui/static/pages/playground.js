// Playground: chat with an endpoint through the gateway, tokens shown as they stream in.
// The conversation lives in this page only; the request is shown as curl to copy.
(function () {
  "use strict";
  const h = (...a) => MP.h(...a);

  const shellQuote = (s) => "'" + s.replace(/'/g, "'\\''") + "'";

  function curlOf(url, body) {
    return [
      `curl -N ${url}/chat/completions \\`,
      '  -H "Authorization: Bearer $MODELPORT_TOKEN" \\',
      '  -H "Content-Type: application/json" \\',
      `  -d ${shellQuote(JSON.stringify(body))}`,
    ].join("\n");
  }

  function field(id, label, control) {
    control.id = id;
    return h("div", { class: "field" }, h("label", { for: id }, label), control);
  }

  function message(role, text) {
    const body = h("div", { class: "content" }, text);
    const node = h("li", { class: "msg msg-" + role, dataset: { role } },
      h("span", { class: "role" }, role === "user" ? "You" : "Assistant"), body);
    return { node, body };
  }

  MP.page({
    name: "playground",
    path: /^\/playground(?:\/([a-z0-9][a-z0-9-]*))?$/,
    nav: { label: "Playground", order: 25, href: "#/playground" },
    render(el, match) {
      const endpoints = new Map(); // name -> url
      const pick = h("select", { name: "endpoint", required: true });
      const system = h("textarea", { name: "system", rows: "2",
        placeholder: "You are a helpful assistant." });
      const temperature = h("input", { name: "temperature", type: "number", min: "0", max: "2",
        step: "0.1", value: "0.7" });
      const maxTokens = h("input", { name: "max_tokens", type: "number", min: "1", max: "32768",
        value: "256" });
      const prompt = h("textarea", { name: "prompt", rows: "3", required: true,
        placeholder: "Ask something" });
      const send = h("button", { type: "submit", dataset: { action: "send" } }, "Send");
      const stopBtn = h("button", { type: "button", disabled: true, dataset: { action: "stop" } },
        "Stop");
      const clear = h("button", { type: "button" }, "Clear");
      const transcript = h("ol", { class: "transcript", "aria-live": "polite",
        "aria-label": "Conversation" });
      const stats = h("p", { class: "muted stats", role: "status" });
      const curlCode = h("code");
      const curlCopy = h("span");
      const form = h("form", { class: "card playground" },
        h("div", { class: "grid" },
          field("pg-endpoint", "Endpoint", pick),
          field("pg-temperature", "Temperature", temperature),
          field("pg-max-tokens", "Max tokens", maxTokens)),
        field("pg-system", "System prompt", system),
        transcript,
        field("pg-prompt", "Message", prompt),
        h("p", { class: "hint" }, "Ctrl+Enter sends."),
        h("div", { class: "actions" }, send, stopBtn, clear), stats);
      el.append(h("h1", null, "Playground"), form,
        h("details", { class: "card" }, h("summary", null, "Request as curl"),
          h("div", { class: "row" }, curlCopy), h("pre", { class: "curl" }, curlCode)));

      const history = []; // {role, content} sent so far, without the system prompt
      let running = null; // the stream in progress

      function body(extra) {
        const messages = (system.value.trim() ? [{ role: "system", content: system.value }] : [])
          .concat(history, extra);
        return {
          model: pick.value, messages, stream: true,
          temperature: Number(temperature.value), max_tokens: Number(maxTokens.value),
        };
      }
      function showCurl() {
        const url = endpoints.get(pick.value);
        if (!url) return;
        const text = curlOf(url, body(prompt.value ? [{ role: "user", content: prompt.value }] : []));
        curlCode.textContent = text;
        curlCopy.replaceChildren(MP.copy(text));
      }
      for (const c of [pick, system, temperature, maxTokens, prompt]) c.addEventListener("input", showCurl);

      clear.onclick = () => {
        history.length = 0;
        transcript.replaceChildren();
        stats.textContent = "";
        showCurl();
      };
      stopBtn.onclick = () => { if (running) running.abort(); };
      prompt.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) form.requestSubmit();
      });

      form.onsubmit = async (ev) => {
        ev.preventDefault();
        if (running || !prompt.value.trim()) return;
        const user = { role: "user", content: prompt.value };
        const req = body([user]);
        showCurl();
        transcript.append(message("user", user.content).node);
        const reply = message("assistant", "");
        reply.node.setAttribute("aria-busy", "true");
        transcript.append(reply.node);
        prompt.value = "";
        send.disabled = true;
        stopBtn.disabled = false;
        const began = performance.now();
        let first = null;
        let chunks = 0;
        let usage = null;
        let text = "";
        running = MP.stream(`/endpoints/${encodeURIComponent(req.model)}/v1/chat/completions`,
          req, (event) => {
            if (event.usage) usage = event.usage;
            const delta = event.choices && event.choices[0] && event.choices[0].delta;
            if (!delta || !delta.content) return;
            if (first === null) first = performance.now() - began;
            chunks += 1;
            text += delta.content;
            reply.body.append(delta.content); // a text node per token: never parsed as HTML
          });
        let ended = "done";
        try {
          const result = await running.done;
          if (result && result.aborted) ended = "stopped";
        } catch (err) {
          ended = "error";
          reply.node.classList.add("failed");
          reply.body.append(h("span", { class: "error" }, (text ? " " : "") +
            "Error: " + (err.message || String(err))));
        } finally {
          running = null;
          send.disabled = false;
          stopBtn.disabled = true;
          reply.node.setAttribute("aria-busy", "false");
          reply.node.dataset.ended = ended;
        }
        if (ended !== "error") history.push(user, { role: "assistant", content: text });
        const secs = (performance.now() - began) / 1000;
        const tokens = usage ? usage.completion_tokens : chunks;
        stats.textContent = `${ended}: ${tokens} tokens in ${secs.toFixed(2)} s` +
          (first === null ? "" : `, first after ${MP.fmt.ms(first)}`);
      };

      (async () => {
        const list = await MP.api("GET", "/endpoints?limit=1000");
        for (const ep of list.items) endpoints.set(ep.name, ep.url);
        pick.replaceChildren(...list.items.map((ep) =>
          h("option", { value: ep.name }, `${ep.name} (${ep.phase})`)));
        if (!list.items.length) {
          stats.textContent = "No endpoints yet: create one first.";
          send.disabled = true;
          return;
        }
        const wanted = match[1] && endpoints.has(match[1]) ? match[1] : list.items[0].name;
        pick.value = wanted;
        showCurl();
      })().catch((err) => MP.toast(err.message, "error"));

      return () => { if (running) running.abort(); };
    },
  });
})();
