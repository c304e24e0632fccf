// Datasets: where async invocations write their results (a directory on the server, or an
// fsspec URL such as s3://bucket/prefix with its credentials, sealed and never shown).
(function () {
  "use strict";
  const h = (...a) => MP.h(...a);
  const enc = encodeURIComponent;

  // The keys of one dataset, shown under the list when asked for.
  function browser() {
    const box = h("section", { class: "card", hidden: true, "aria-live": "polite" });
    const show = async (name) => {
      box.hidden = false;
      try {
        const found = await MP.api("GET", `/datasets/${enc(name)}/objects?limit=200`);
        box.replaceChildren(h("h2", null, `Objects in ${name}`),
          found.keys.length ? h("ul", { class: "keys" }, found.keys.map((k) => h("li", null, h("code", null, k))))
            : h("p", { class: "muted" }, "No objects yet."),
          found.truncated ? h("p", { class: "muted" }, "Only the first 200 are shown.") : null);
      } catch (err) {
        box.replaceChildren(h("p", { class: "form-error", role: "alert" }, err.message));
      }
    };
    return { box, show };
  }
  const objects = browser();

  MP.parts.resource({
    name: "datasets",
    path: /^\/datasets$/,
    nav: { label: "Datasets", order: 60 },
    title: "Datasets",
    noun: "Dataset",
    intro: "Where async invocations land their results (an endpoint names one in " +
      "spec.async_config.dataset_id).",
    api: "/datasets",
    empty: "No dataset yet.",
    columns: [
      { label: "Name", value: (d) => d.name },
      { label: "Kind", value: (d) => d.kind },
      { label: "Where", value: (d) => h("code", null, d.url) },
      { label: "Credentials", value: (d) => (d.has_credentials ? "set (hidden)" : "none") },
      { label: "Created", value: (d) => MP.fmt.ago(d.created_at) },
    ],
    actions: (d) => h("button", { type: "button", dataset: { action: "objects", item: d.name },
      onclick: () => objects.show(d.name) }, "Objects"),
    deleteQuestion: (d) => `Delete dataset ${d.name}? Its objects stay where they are; it is ` +
      "refused while an endpoint's async_config names it.",
    below: () => {
      objects.box.hidden = true;
      return objects.box;
    },
    create: {
      label: "New dataset",
      fields: [
        { label: "Name", name: "name", attrs: { autocomplete: "off", spellcheck: "false" } },
        { label: "URL or directory", name: "url",
          hint: "empty: a directory under the server's home; s3://bucket/prefix for S3" },
        { label: "S3 endpoint URL", name: "options.endpoint_url", hint: "S3-compatible servers" },
        { label: "Region", name: "options.region" },
        { label: "Access key id", name: "credentials.key", type: "password",
          attrs: { autocomplete: "off" } },
        { label: "Secret access key", name: "credentials.secret", type: "password",
          attrs: { autocomplete: "off" } },
      ],
    },
  });
})();
