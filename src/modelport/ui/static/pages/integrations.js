// Integrations: named credentials (a Hugging Face token, a registry login, S3 keys) that specs
// refer to by name. Secrets go in through password inputs and never come back.
(function () {
  "use strict";
  const secret = (label, name, only) => ({ label, name, type: "password", only,
    attrs: { autocomplete: "off" } });

  MP.parts.resource({
    name: "integrations",
    path: /^\/integrations$/,
    nav: { label: "Integrations", order: 70 },
    title: "Integrations",
    noun: "Integration",
    intro: "Credentials endpoints use by name: spec.model.integration (Hugging Face, S3) and " +
      "spec.model.registry_integration (a private image's registry).",
    api: "/integrations",
    empty: "No integration yet.",
    columns: [
      { label: "Name", value: (i) => i.name },
      { label: "Kind", value: (i) => i.kind.replace("_", " ") },
      { label: "Details", value: (i) => [i.server, i.username, i.endpoint_url, i.region]
        .filter(Boolean).join(" · ") || "–" },
      { label: "Secret", value: (i) => (i.secret_set ? `set, version ${i.version}` : "none") },
      { label: "Rotated", value: (i) => MP.fmt.ago(i.rotated_at) },
    ],
    deleteQuestion: (i) => `Delete integration ${i.name}? It is refused while an endpoint names it.`,
    create: {
      label: "New integration",
      fields: [
        { label: "Name", name: "name", attrs: { autocomplete: "off", spellcheck: "false" } },
        { label: "Kind", name: "kind", options: [["hugging_face", "Hugging Face token"],
          ["registry", "Container registry login"], ["s3", "S3 keys"]] },
        secret("Token", "token", ["hugging_face"]),
        { label: "Registry server", name: "server", only: ["registry"],
          hint: "host[:port], e.g. ghcr.io" },
        { label: "Username", name: "username", only: ["registry"] },
        secret("Password", "password", ["registry"]),
        secret("Access key id", "access_key_id", ["s3"]),
        secret("Secret access key", "secret_access_key", ["s3"]),
        { label: "S3 endpoint URL", name: "endpoint_url", only: ["s3"] },
        { label: "Region", name: "region", only: ["s3"] },
      ],
    },
  });
})();
