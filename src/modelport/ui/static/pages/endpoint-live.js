// The endpoint page's live panels: replicas, events, logs and graphs. Each panel is
// {node, refresh?(), stop()}; endpoint.js lays them out and owns the polling of the endpoint.
(function () {
  "use strict";
  const h = (...a) => MP.h(...a);
  const enc = encodeURIComponent;

  // --- replicas --------------------------------------------------------------------------
  function where(r) {
    const hd = r.handle;
    if (!hd) return "-";
    if (hd.container_id) return "container " + hd.container_id.slice(0, 12);
    if (hd.runtime_ref) return hd.runtime_ref;
    return hd.pid ? "pid " + hd.pid : "-";
  }

  const REPLICA_COLUMNS = [
    { label: "Replica", value: (r) => "#" + r.id },
    { label: "State", value: (r) => MP.state(r.state) },
    { label: "Why", value: (r) => r.detail || r.reason || "", cls: "muted" },
    { label: "Node", value: (r) => (r.handle && r.handle.node) || "this host" },
    { label: "Process", value: where },
    { label: "Restarts", value: (r) => String(r.restart_count), cls: "num" },
    { label: "Generation", value: (r) => String(r.generation), cls: "num" },
    { label: "Since", value: (r) => h("time", { datetime: r.state_changed_at,
      title: r.state_changed_at }, MP.fmt.ago(r.state_changed_at)) },
  ];

  function replicasPanel(name, canChange) {
    const body = h("div", { class: "replicas-body" });
    const node = h("section", { class: "card", "aria-labelledby": "replicas-h" },
      h("h2", { id: "replicas-h" }, "Replicas"), body);
    const columns = REPLICA_COLUMNS.concat(canChange ? [{
      label: "Actions",
      value: (r) => h("button", {
        type: "button", class: "small", "aria-label": "Restart replica " + r.id,
        disabled: r.state === "stopped" || r.restart_requested_at ? true : null,
        onclick: () => restartReplica(name, r.id),
      }, r.restart_requested_at ? "Restarting" : "Restart"),
    }] : []);
    let shown = "";
    return {
      node,
      show(replicas) {
        const key = JSON.stringify(replicas);
        if (key !== shown) { // rebuilt only on a change: buttons keep their focus
          shown = key;
          body.replaceChildren(MP.table(columns, replicas, { empty: "No replicas." }));
        }
        for (const t of body.querySelectorAll("time")) t.textContent = MP.fmt.ago(t.dateTime);
      },
      stop() {},
    };
  }

  async function restartReplica(name, id) {
    const ok = await MP.confirm(`Restart replica #${id}? A fresh replica starts first; this one ` +
      "stops once it is ready.", { danger: false });
    if (!ok) return;
    try {
      await MP.api("POST", `/endpoints/${enc(name)}/replicas/${id}/restart`);
      MP.toast(`Replica #${id}: restart requested`, "ok");
    } catch (err) {
      MP.toast(err.message, "error");
    }
  }

  // --- events: oldest first from the API, shown newest first -----------------------------
  const MAX_EVENTS = 300;

  function eventItem(e) {
    return h("li", { class: "event level-" + e.level, dataset: { id: String(e.id) } },
      h("time", { datetime: e.created_at, title: e.created_at },
        new Date(e.created_at).toLocaleTimeString()),
      h("span", { class: "badge level " + e.level }, e.level),
      h("strong", null, e.reason),
      e.replica_id ? h("span", { class: "muted" }, " replica #" + e.replica_id) : null,
      h("span", { class: "event-message" }, e.message));
  }

  function eventsPanel(name) {
    const list = h("ol", { class: "events", reversed: true, "aria-live": "polite" });
    const empty = h("p", { class: "muted" }, "No events yet.");
    const node = h("section", { class: "card", "aria-labelledby": "events-h" },
      h("h2", { id: "events-h" }, "Events"), empty, list);
    let after = 0;
    async function tick() {
      // Page until a short page: the first visit of an old endpoint reads all of it.
      for (;;) {
        const page = await MP.api("GET", `/endpoints/${enc(name)}/events?after_id=${after}&limit=500`);
        for (const e of page.items) {
          list.prepend(eventItem(e));
          after = Math.max(after, e.id);
        }
        if (page.items.length < 500) break;
      }
      while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
      empty.hidden = list.children.length > 0;
    }
    const stop = MP.poll(tick, 1000);
    return { node, stop };
  }

  // --- logs: the API answers each replica's tail; new text is found by overlap ---------
  // The first read takes a long tail; later ones a short one that still overlaps what was
  // shown unless a replica wrote more than that in one interval (then: a long one again).
  const LOG_TAIL_FIRST = 65536;
  const LOG_TAIL_NEXT = 16384;
  const LOG_KEEP = 400000; // characters kept on screen per replica

  function appended(old, fresh) {
    if (!old) return fresh;
    if (fresh.startsWith(old)) return fresh.slice(old.length);
    const anchor = old.slice(-256);
    const at = fresh.lastIndexOf(anchor);
    return at >= 0 ? fresh.slice(at + anchor.length) : null; // null: start again (rotated)
  }

  function logsPanel(name) {
    const pick = h("select", { id: "log-replica", name: "replica" });
    const pause = h("button", { type: "button", "aria-pressed": "false" }, "Pause");
    const pre = h("pre", { class: "logs", tabindex: "0", "aria-label": "Replica log" });
    const note = h("p", { class: "muted" }, "No logs yet.");
    const node = h("section", { class: "card", "aria-labelledby": "logs-h" },
      h("div", { class: "row" }, h("h2", { id: "logs-h" }, "Logs"),
        h("label", { for: "log-replica" }, "Replica"), pick, pause),
      note, pre);
    const texts = new Map(); // replica id -> text seen so far
    let paused = false;
    let tail = LOG_TAIL_FIRST;
    pause.onclick = () => {
      paused = !paused;
      pause.setAttribute("aria-pressed", String(paused));
      pause.textContent = paused ? "Resume" : "Pause";
    };
    pick.onchange = () => render(true);

    function render(replace, added) {
      const id = Number(pick.value);
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
      if (replace) pre.textContent = texts.get(id) || "";
      else if (added) pre.append(added);
      note.hidden = texts.size > 0;
      if (atBottom || replace) pre.scrollTop = pre.scrollHeight; // follow unless scrolled up
    }

    async function tick() {
      if (paused) return;
      const page = await MP.api("GET", `/endpoints/${enc(name)}/logs?tail_bytes=${tail}`);
      let lost = false;
      const ids = page.items.map((l) => l.replica_id);
      if (ids.join() !== [...pick.options].map((o) => o.value).join()) {
        const keep = pick.value;
        pick.replaceChildren(...ids.map((id) => h("option", { value: String(id) }, "#" + id)));
        pick.value = ids.includes(Number(keep)) ? keep : String(ids[ids.length - 1] ?? "");
        render(true);
      }
      for (const l of page.items) {
        const old = texts.get(l.replica_id) || "";
        const add = appended(old, l.text);
        if (add === null && old && tail === LOG_TAIL_NEXT) {
          lost = true; // more than the short tail was written: the next, long read catches up
          continue;
        }
        const text = (add === null ? l.text : old + add).slice(-LOG_KEEP);
        texts.set(l.replica_id, text);
        if (String(l.replica_id) !== pick.value) continue;
        if (add === null || text.length < old.length + add.length) render(true);
        else if (add) render(false, add);
      }
      note.hidden = texts.size > 0;
      tail = lost ? LOG_TAIL_FIRST : LOG_TAIL_NEXT;
    }
    const stop = MP.poll(tick, 2000);
    return { node, stop };
  }

  // --- graphs from GET /endpoints/{name}/series -----------------------------------------
  // Units go in the titles and summaries: uPlot's axis has room for numbers only.
  const CHARTS = [
    { title: "Requests/s", unit: "req/s", series: [["requests/s", "requests_per_s"]], total: true },
    { title: "Latency (ms)", unit: "ms", series: [["p50", "p50_ms"], ["p95", "p95_ms"]] },
    { title: "In flight", unit: "requests", series: [["in flight", "in_flight"]] },
    { title: "Errors/s", unit: "err/s", series: [["errors/s", "errors_per_s"]], total: true },
    { title: "Replicas", unit: "replicas",
      series: [["ready", "replicas_ready"], ["desired", "replicas_desired"]] },
  ];
  const WINDOWS = [[900, 10, "15 min"], [3600, 30, "1 h"], [21600, 120, "6 h"], [86400, 600, "24 h"]];

  function summary(spec, data) {
    const values = data[spec.series[0][1]] || [];
    const known = values.filter((v) => v !== null && v !== undefined);
    if (spec.total) {
      const n = known.reduce((sum, v) => sum + v * data.step, 0);
      return `${MP.fmt.num(Math.round(n))} in window`;
    }
    return known.length ? `last ${MP.fmt.num(known[known.length - 1])} ${spec.unit}` : "";
  }

  function graphsPanel(name) {
    const range = h("select", { id: "graph-window", name: "window" },
      WINDOWS.map(([w, , label]) => h("option", { value: String(w) }, label)));
    const note = h("p", { class: "muted graphs-note" }, "No data yet.");
    const grid = h("div", { class: "grid graphs" });
    const node = h("section", { class: "card", "aria-labelledby": "graphs-h" },
      h("div", { class: "row" }, h("h2", { id: "graphs-h" }, "Graphs"),
        h("label", { for: "graph-window" }, "Window"), range),
      note, grid);
    let charts = null; // [{spec, chart, caption}] once data came
    range.onchange = () => tick().catch((err) => MP.toast(err.message, "error"));
    const destroy = () => { for (const c of charts || []) c.chart.destroy(); };

    function build(data) {
      destroy();
      grid.replaceChildren();
      charts = CHARTS.map((spec) => {
        const box = h("div", { class: "chart" });
        const caption = h("p", { class: "muted chart-summary" });
        grid.append(h("figure", { class: "chart-card", dataset: { chart: spec.title } },
          box, caption));
        const chart = MP.chart(box, {
          title: spec.title, t: data.t,
          series: spec.series.map(([label, key]) => ({ label, values: data[key] })),
        });
        return { spec, chart, caption };
      });
    }

    async function tick() {
      const [span, step] = WINDOWS.find(([w]) => String(w) === range.value);
      let data;
      try {
        data = await MP.api("GET", `/endpoints/${enc(name)}/series?window=${span}&step=${step}`);
      } catch (err) {
        if (err.status !== 404) throw err;
        note.hidden = false; // no series API on this server yet, or the endpoint is gone
        return;
      }
      if (range.value !== String(span)) return; // the window changed meanwhile
      const any = CHARTS.some((c) => c.series.some(([, k]) => (data[k] || []).some((v) => v != null)));
      note.hidden = any;
      if (!any && !charts) return;
      if (!charts || charts.step !== data.step) {
        build(data);
        charts.step = data.step;
      } else {
        for (const c of charts) c.chart.update(data.t, c.spec.series.map(([, k]) => data[k]));
      }
      for (const c of charts) c.caption.textContent = summary(c.spec, data);
    }
    const stopPoll = MP.poll(tick, 5000);
    return { node, stop: () => { stopPoll(); destroy(); } };
  }

  MP.parts = MP.parts || {};
  MP.parts.endpointLive = { replicasPanel, eventsPanel, logsPanel, graphsPanel, appended };
})();
