// The console's reports: choose a program, period and filters, then show the report figures,
// the charts (SVG rendered by the server, inlined after checking it), the campaigns' funnels
// and a CSV download. Everything is fetched from the API with the console session's cookie.
"use strict";

(() => {
  const { api, errorMessage, el, show } = Passwright;
  const $ = (id) => document.getElementById(id);

  /** The totals shown, in order, and how each is written. */
  const FIGURES = [
    ["members_enrolled", "Members enrolled", "count"],
    ["cards_installed", "Cards installed", "count"],
    ["apple_registrations", "Apple Wallet registrations", "count"],
    ["google_saves", "Google Wallet saves", "count"],
    ["active_members", "Active members", "count"],
    ["scans_accepted", "Scans accepted", "count"],
    ["scans_rejected", "Scans rejected", "count"],
    ["redemptions", "Redemptions", "count"],
    ["points_earned", "Points earned", "count"],
    ["points_redeemed", "Points redeemed", "count"],
    ["points_expired", "Points expired", "count"],
    ["points_redemption_rate", "Points redemption rate", "percent"],
    ["member_redemption_rate", "Member redemption rate", "percent"],
    ["repeat_visit_rate", "Repeat-visit rate", "percent"],
    ["purchase_frequency", "Purchase frequency", "ratio"],
    ["average_purchase_value", "Average purchase value", "money"],
    ["retention", "Retention", "percent"],
  ];
  const COLUMNS = [
    ["members_enrolled", "Enrolled", "count"],
    ["active_members", "Active", "count"],
    ["scans_accepted", "Scans", "count"],
    ["redemptions", "Redemptions", "count"],
    ["points_earned", "Earned", "count"],
    ["points_redeemed", "Redeemed", "count"],
    ["points_redemption_rate", "Redemption rate", "percent"],
  ];
  const CHARTS = ["redemption_rate", "funnel", "top_rewards", "locations"];
  /** The campaign table's columns: funnel stages, in order. */
  const CAMPAIGN_COLUMNS = [
    ["sent", "Sent"],
    ["delivered", "Delivered"],
    ["clicked", "Clicked"],
    ["installed", "Installed"],
    ["redeemed", "Redeemed"],
  ];
  const SVG_NS = "http://www.w3.org/2000/svg";

  // The page says whether its person is an owner (who may list the staff keys).
  const owner = document.body.dataset.owner === "true";
  const state = { programs: [], query: null, program: null };

  function format(value, kind) {
    if (value === null || value === undefined) return "–";
    const v = Number(value);
    switch (kind) {
      case "percent":
        return `${(v * 100).toLocaleString("en", { maximumFractionDigits: 1 })}%`;
      case "money":
        return v.toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      case "ratio":
        return v.toLocaleString("en", { maximumFractionDigits: 2 });
      default:
        return v.toLocaleString("en");
    }
  }

  function status(kind, text) {
    const box = $("status");
    box.className = "message " + kind;
    box.dataset.kind = kind;
    box.textContent = text;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    show(box, Boolean(text));
  }

  function isoDate(d) {
    return d.toISOString().slice(0, 10);
  }

  function defaultDates() {
    const today = new Date();
    if (!$("to").value) $("to").value = isoDate(today);
    if (!$("from").value) {
      $("from").value = isoDate(new Date(today.getTime() - 27 * 86400 * 1000));
    }
  }

  /** GET with the session; to the sign-in page on 401, null (with a message) on other
   *  failures. */
  async function getJson(path) {
    let result;
    try {
      result = await api("GET", path);
    } catch (e) {
      status("error", "Network error: the server could not be reached.");
      return null;
    }
    if (result.status === 401) {
      signedOut();
      return null;
    }
    if (!result.ok) {
      status("error", errorMessage(result));
      return null;
    }
    return result.body;
  }

  async function loadPrograms() {
    const body = await getJson("/api/v1/programs");
    if (!body) return;
    state.programs = body.programs || [];
    const select = $("program");
    select.replaceChildren(
      ...state.programs.map((p) => el("option", { value: p.id }, p.name)),
    );
    // The console's home links here with the program to show.
    const wanted = document.body.dataset.program;
    if (wanted && state.programs.some((p) => p.id === wanted)) select.value = wanted;
    select.dataset.loaded = String(state.programs.length);
    if (!state.programs.length) status("info", "No programs yet.");
    await loadFilters();
  }

  async function loadFilters() {
    const program = $("program").value;
    const locations = $("location");
    locations.replaceChildren(el("option", { value: "" }, "All locations"));
    const body = await getJson("/api/v1/locations");
    for (const l of (body && body.locations) || []) {
      if (l.program_id === program) locations.append(el("option", { value: l.id }, l.name));
    }
    locations.dataset.loaded = "true";
    // Listing keys is for admins; a marketer types a staff key id instead.
    const keys = $("staff-keys");
    keys.replaceChildren();
    if (owner) {
      const list = await getJson("/api/v1/keys");
      for (const k of (list && list.keys) || []) {
        if (k.role === "staff" && (!k.program_id || k.program_id === program)) {
          keys.append(el("option", { value: k.id }, k.name));
        }
      }
    }
  }

  $("program").addEventListener("change", loadFilters);

  // ---- the report ----

  function query() {
    const q = new URLSearchParams({
      period: $("period").value,
      from: $("from").value,
      to: $("to").value,
    });
    if ($("location").value) q.set("location_id", $("location").value);
    const staff = $("staff").value.trim();
    if (staff) q.set("staff_key_id", staff);
    return q.toString();
  }

  $("filters").addEventListener("submit", async (e) => {
    e.preventDefault();
    const program = $("program").value;
    if (!program) {
      status("error", "Choose a program first.");
      return;
    }
    if (!$("from").value || !$("to").value || $("from").value > $("to").value) {
      status("error", "Choose a start date on or before the end date.");
      $("from").focus();
      return;
    }
    state.program = program;
    state.query = query();
    const base = `/api/v1/programs/${encodeURIComponent(program)}`;
    status("info", "Loading the report…");
    $("report").setAttribute("aria-busy", "true");
    const report = await getJson(`${base}/reports?${state.query}`);
    if (!report) {
      $("report").removeAttribute("aria-busy");
      return;
    }
    renderReport(report);
    show($("report"), true);
    await Promise.all([...CHARTS.map((name) => loadChart(base, name)), loadCampaigns(base)]);
    $("report").removeAttribute("aria-busy");
    $("report").dataset.loaded = state.query;
    status("ok", "Report updated.");
  });

  function renderReport(report) {
    const name = (state.programs.find((p) => p.id === report.program_id) || {}).name || "";
    $("report-title").textContent = `${name} · ${report.from} to ${report.to}`;
    const totals = report.totals || {};
    $("totals").replaceChildren(
      ...FIGURES.map(([key, label, kind]) =>
        el(
          "div",
          { dataset: { metric: key } },
          el("dt", {}, label),
          el("dd", {}, format(totals[key], kind)),
        ),
      ),
    );
    const table = $("periods");
    table.tHead.replaceChildren(
      el(
        "tr",
        {},
        el("th", { scope: "col" }, "Period starting"),
        ...COLUMNS.map(([, label]) => el("th", { scope: "col" }, label)),
      ),
    );
    const body = table.tBodies[0];
    body.replaceChildren(
      ...(report.periods || []).map((p) =>
        el(
          "tr",
          {},
          el("th", { scope: "row" }, p.start),
          ...COLUMNS.map(([key, , kind]) => el("td", {}, format(p[key], kind))),
        ),
      ),
    );
  }

  /** The program's campaigns with their funnels, and the newest one's funnel chart. */
  async function loadCampaigns(base) {
    const section = $("campaigns");
    const data = await getJson(`${base}/campaigns`);
    const campaigns = (data && data.campaigns) || [];
    show(section, campaigns.length > 0);
    if (!campaigns.length) return;
    const table = $("campaign-table");
    table.tHead.replaceChildren(
      el(
        "tr",
        {},
        el("th", { scope: "col" }, "Campaign"),
        el("th", { scope: "col" }, "Channel"),
        el("th", { scope: "col" }, "Status"),
        ...CAMPAIGN_COLUMNS.map(([, label]) => el("th", { scope: "col" }, label)),
      ),
    );
    table.tBodies[0].replaceChildren(
      ...campaigns.map((c) =>
        el(
          "tr",
          { dataset: { campaign: c.id } },
          el("th", { scope: "row" }, c.name),
          el("td", {}, c.channel),
          el("td", {}, c.status),
          ...CAMPAIGN_COLUMNS.map(([key]) =>
            el("td", { dataset: { stage: key } }, format((c.funnel || {})[key], "count")),
          ),
        ),
      ),
    );
    const figure = document.querySelector("figure[data-campaign-chart]");
    await loadSvg(figure, `/api/v1/campaigns/${encodeURIComponent(campaigns[0].id)}/funnel.svg`);
  }

  async function loadChart(base, name) {
    const figure = document.querySelector(`figure[data-chart="${name}"]`);
    await loadSvg(figure, `${base}/reports/charts/${name}.svg?${state.query}`);
  }

  /** Fetches one chart and inlines it, if it is an SVG from our own server and nothing else. */
  async function loadSvg(figure, url) {
    figure.setAttribute("aria-busy", "true");
    figure.replaceChildren();
    let response;
    try {
      response = await fetch(url, {
        headers: { Accept: "image/svg+xml" },
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (e) {
      return chartFailed(figure, "the server could not be reached");
    }
    const type = (response.headers.get("Content-Type") || "").split(";")[0].trim();
    if (!response.ok || type !== "image/svg+xml") {
      return chartFailed(figure, `the server answered ${response.status}`);
    }
    const svg = sanitize(await response.text());
    if (!svg) return chartFailed(figure, "the chart could not be read");
    figure.append(document.importNode(svg, true));
    figure.removeAttribute("aria-busy");
    figure.dataset.state = "loaded";
  }

  function chartFailed(figure, why) {
    figure.replaceChildren(el("p", { class: "message error" }, `This chart is unavailable: ${why}.`));
    figure.removeAttribute("aria-busy");
    figure.dataset.state = "failed";
  }

  /** Parses SVG as XML (never as HTML) and keeps only drawing: no scripts, no foreign
   *  content, no event handlers, no links. Our charts contain none; this is a second lock. */
  function sanitize(text) {
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const root = doc.documentElement;
    if (!root || root.namespaceURI !== SVG_NS || root.localName !== "svg") return null;
    if (doc.getElementsByTagName("parsererror").length) return null;
    for (const bad of root.querySelectorAll("script, foreignObject, iframe, a, use, image, style")) {
      bad.remove();
    }
    for (const node of [root, ...root.querySelectorAll("*")]) {
      for (const attr of Array.from(node.attributes)) {
        const n = attr.name.toLowerCase();
        if (n.startsWith("on") || n === "style" || n.endsWith("href")) {
          node.removeAttribute(attr.name);
        }
      }
    }
    return root;
  }

  // ---- CSV ----

  $("csv").addEventListener("click", async () => {
    if (!state.program || !state.query) return;
    const path = `/api/v1/programs/${encodeURIComponent(state.program)}/reports.csv?${state.query}`;
    let result;
    try {
      result = await api("GET", path, { accept: "text/csv" });
    } catch (e) {
      status("error", "Network error: the CSV could not be downloaded.");
      return;
    }
    if (result.status === 401) {
      signedOut();
      return;
    }
    if (!result.ok) {
      status("error", errorMessage(result));
      return;
    }
    const blob = await result.response.blob();
    const url = URL.createObjectURL(blob);
    const a = el("a", {
      href: url,
      download: `report-${state.program}-${$("from").value}-${$("to").value}.csv`,
      hidden: true,
    });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    status("ok", "CSV downloaded.");
  });

  /** The session ended (signed out elsewhere, expired): to the sign-in page, back here after. */
  function signedOut() {
    status("error", "Your session has ended. Taking you to the sign-in page…");
    window.location.assign("/console/sign-in?next=" + encodeURIComponent("/console/reports"));
  }

  defaultDates();
  loadPrograms();
})();
