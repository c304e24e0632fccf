// Models: the project's model repository. Files go up with the CLI (resumable 4 MiB chunks,
// sha256-checked); the page lists, creates, finalizes and deletes.
(function () {
  "use strict";
  const h = (...a) => MP.h(...a);
  const size = (n) => {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
    return `${MP.fmt.num(n)} ${units[i]}`;
  };
  const upload = "modelport models upload NAME FILE_OR_DIR";

  MP.parts.resource({
    name: "models",
    path: /^\/models$/,
    nav: { label: "Models", order: 50 },
    title: "Models",
    noun: "Model",
    intro: "Model files stored by Modelport; an endpoint names one in spec.model.model_id " +
      "(the Create page lists the ready ones).",
    api: "/models",
    empty: "No model yet.",
    columns: [
      { label: "Name", value: (m) => m.name },
      { label: "Status", value: (m) => MP.state(m.status) },
      { label: "Files", value: (m) => m.files.map((f) => f.path).join(", ") || "–" },
      { label: "Size", value: (m) => size(m.total_size), cls: "num" },
      { label: "Content key", value: (m) => (m.content_key || "–").slice(0, 12), cls: "muted" },
      { label: "Created", value: (m) => MP.fmt.ago(m.created_at) },
    ],
    actions: (m, reload) => (m.status === "ready" || !m.files.length ? null : h("button", {
      type: "button", dataset: { action: "ready", item: m.name },
      onclick: async () => {
        try {
          await MP.api("POST", `/models/${encodeURIComponent(m.name)}/ready`);
          MP.toast(`Model ${m.name} is ready`, "ok");
        } catch (err) {
          MP.toast(err.message, "error");
        }
        await reload();
      },
    }, "Mark ready")),
    deleteQuestion: (m) => `Delete model ${m.name} and its files? Endpoints that use it ` +
      "must be changed first.",
    create: {
      label: "New model",
      fields: [
        { label: "Name", name: "name", attrs: { autocomplete: "off", spellcheck: "false" } },
        { label: "Description", name: "description" },
      ],
      note: h("p", { class: "muted" }, "Then upload its files from a shell (resumable; it marks " +
        "the model ready): ", h("code", null, upload), " ", MP.copy(upload)),
    },
  });
})();
