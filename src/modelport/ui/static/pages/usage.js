// Usage and cost: GET /usage per endpoint or per day over a date range, totals, and charts
// per day. The range lives in the hash (#/usage?from=2026-11-01&to=2026-11-29&group_by=day) so
// a reload or a shared link shows the same numbers.
(function () {
  "use strict";
  const h = (...a) => MP.h(...a);
  const F = () => MP.parts.forms;
  const DAY = 86400;

  const isoDay = (date) => date.toISOString().slice(0, 10);
  const dayStart = (day) => Date.parse(`${day}T00:00:00Z`) / 1000;

  // The range asked for: whole UTC days, `to` included. Default: the last 7 days.
  function range() {
    const q = MP.hashQuery();
    const today = isoDay(new Date());
    const weekAgo = isoDay(new Date(Date.now() - 6 * DAY * 1000));
    return {
      from: q.get("from") || weekAgo,
      to: q.get("to") || today,
      group_by: q.get("group_by") === "day" ? "day" : "endpoint",
      endpoint: q.get("endpoint") || "",
    };
  }

  function query(r, groupBy) {
    const params = new URLSearchParams({
      from: `${r.from}T00:00:00Z`,
      to: new Date((dayStart(r.to) + DAY) * 1000).toISOString().replace(".000Z", "Z"),
      group_by: groupBy,
    });
    if (r.endpoint) params.set("endpoint", r.endpoint);
    return `/usage?${params}`;
  }

  // Replica time: a few seconds of a new endpoint must not read "0 h" beside a cost above 0.
  const hours = (seconds) => seconds < 60 ? `${MP.fmt.num(seconds)} s`
    : seconds < 3600 ? `${MP.fmt.num(seconds / 60)} min` : `${MP.fmt.num(seconds / 3600)} h`;

  function plans(row, currency) {
    if (!row.plans || !row.plans.length) return "–";
    return row.plans.map((p) => `${p.plan}: ${hours(p.replica_seconds)} × ` +
      `${MP.fmt.money(p.price_per_hour, currency)}/h`).join("; ");
  }

  function columns(groupBy, currency) {
    const money = (n) => MP.fmt.money(n, currency);
    return [
      groupBy === "day"
        ? { label: "Day", value: (r) => r.day || r.key }
        : { label: "Endpoint", value: (r) => h("a", { href: `#/endpoints/${encodeURIComponent(r.key)}` }, r.key) },
      { label: "Requests", value: (r) => MP.fmt.num(r.requests), cls: "num" },
      { label: "Errors", value: (r) => MP.fmt.num(r.errors), cls: "num" },
      { label: "Prompt tokens", value: (r) => MP.fmt.num(r.prompt_tokens), cls: "num" },
      { label: "Completion tokens", value: (r) => MP.fmt.num(r.completion_tokens), cls: "num" },
      { label: "Replica time", value: (r) => hours(r.replica_seconds), cls: "num" },
      { label: "Plans", value: (r) => plans(r, currency), cls: "muted" },
      { label: "Cost", value: (r) => money(r.cost), cls: "num" },
    ];
  }

  function totals(usage) {
    const t = usage.totals;
    const tile = (label, value) => h("div", { class: "stat" }, h("dt", null, label),
      h("dd", { dataset: { total: label.toLowerCase().replace(/ /g, "-") } }, value));
    return h("dl", { class: "stats", "aria-label": "Totals" },
      tile("Requests", MP.fmt.num(t.requests)), tile("Errors", MP.fmt.num(t.errors)),
      tile("Prompt tokens", MP.fmt.num(t.prompt_tokens)),
      tile("Completion tokens", MP.fmt.num(t.completion_tokens)),
      tile("Replica time", hours(t.replica_seconds)),
      tile("Cost", MP.fmt.money(t.cost, usage.currency)));
  }

  // One value per day of the range (0 where nothing was used), for the charts.
  function perDay(r, rows) {
    const byDay = new Map(rows.map((row) => [row.day || row.key, row]));
    const t = [];
    const pick = (key) => t.map((s) => (byDay.get(isoDay(new Date(s * 1000))) || {})[key] || 0);
    for (let s = dayStart(r.from); s <= dayStart(r.to); s += DAY) t.push(s);
    return { t, pick };
  }

  function charts(holder, r, daily) {
    const { t, pick } = perDay(r, daily.rows);
    const specs = [
      { title: "Requests per day", series: [["requests", "requests"], ["errors", "errors"]] },
      { title: "Tokens per day", series: [["prompt", "prompt_tokens"],
        ["completion", "completion_tokens"]] },
      { title: `Cost per day (${daily.currency})`, series: [["cost", "cost"]] },
    ];
    return specs.map((spec) => {
      const el = h("div", { class: "usage-chart" });
      holder.append(el);
      return MP.chart(el, { title: spec.title, t, height: 160,
        series: spec.series.map(([label, key]) => ({ label, values: pick(key) })) });
    });
  }

  function controls(r, endpoints) {
    const from = F().field({ label: "From", name: "from", type: "date", value: r.from });
    const to = F().field({ label: "To (included)", name: "to", type: "date", value: r.to });
    const group = F().field({ label: "Group by", name: "group_by", value: r.group_by,
      options: [["endpoint", "endpoint"], ["day", "day"]] });
    const endpoint = F().field({ label: "Endpoint", name: "endpoint", value: r.endpoint,
      options: [["", "all endpoints"], ...endpoints.map((n) => [n, n])] });
    const form = h("form", { class: "row filters", "aria-label": "Usage range" },
      from.node, to.node, group.node, endpoint.node,
      h("button", { type: "submit", class: "primary" }, "Show"));
    form.onsubmit = (ev) => {
      ev.preventDefault();
      const params = new URLSearchParams();
      for (const el of [from, to, group, endpoint]) {
        if (el.control.value) params.set(el.control.name, el.control.value);
      }
      MP.go(`/usage?${params}`);
    };
    return form;
  }

  function show(result, r, usage, daily) {
    const chartBox = h("div", { class: "grid charts" });
    result.replaceChildren(
      h("p", { class: "muted" }, `${usage.from} to ${usage.to}; cost = replica-hours × the ` +
        "plan's hourly price (endpoints without a plan cost nothing)."),
      totals(usage),
      h("section", { class: "card" }, h("h2", null, `Per ${usage.group_by}`),
        MP.table(columns(usage.group_by, usage.currency), usage.rows,
          { empty: "No usage in this range." })),
      h("section", { class: "card" }, h("h2", null, "Per day"), chartBox));
    return charts(chartBox, r, daily);
  }

  // Counters reach the store every ~10 s: the page reads again as often, redrawing only
  // when an answer changed.
  async function render(el) {
    const r = range();
    const listed = await MP.api("GET", "/endpoints?limit=500").catch(() => ({ items: [] }));
    const names = listed.items.map((e) => e.name);
    if (r.endpoint && !names.includes(r.endpoint)) names.push(r.endpoint);
    const result = h("div", { class: "usage-result", "aria-live": "polite" },
      h("p", { class: "muted" }, "Loading…"));
    el.replaceChildren(h("h1", null, "Usage and cost"), controls(r, names), result);
    let shown = null;
    let made = [];
    const load = async () => {
      let usage;
      let daily;
      try {
        usage = await MP.api("GET", query(r, r.group_by));
        daily = r.group_by === "day" ? usage : await MP.api("GET", query(r, "day"));
      } catch (err) {
        const text = err.status === 404 && !err.field
          ? "Usage metering is not available on this server."
          : err.message;
        result.replaceChildren(h("p", { class: "form-error", role: "alert" }, text));
        shown = null;
        return;
      }
      const text = JSON.stringify([usage.rows, usage.totals, daily.rows]);
      if (text === shown) return;
      shown = text;
      made.forEach((c) => c.destroy());
      made = show(result, r, usage, daily);
    };
    const stop = MP.poll(load, 10000);
    return () => {
      stop();
      made.forEach((c) => c.destroy());
    };
  }

  MP.page({
    name: "usage",
    path: /^\/usage$/,
    nav: { label: "Usage", order: 40 },
    render: (el) => render(el),
  });
})();
