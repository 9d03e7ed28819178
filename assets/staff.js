// The staff scanner: sign in with a staff key, pick a location, scan a card (camera or typed
// code), then record a visit or purchase or redeem a reward. Every call is POST /api/v1/scans.
// Each user action gets one Idempotency-Key, made when the action is confirmed and reused
// when it is retried, so an answer lost on the way never records the action twice.
"use strict";

(() => {
  const { api, errorMessage, keyStore, uuid, el, show, points, when, signIn, NetworkError } =
    Passwright;
  const $ = (id) => document.getElementById(id);
  const store = keyStore("passwright.staff.key");
  const locationStore = keyStore("passwright.staff.location");

  /** Why a card was refused, in the words staff can act on. */
  const REJECTED = {
    malformed: "This is not a passwright card code.",
    forged: "The code does not match its signature: it was altered, mistyped or forged.",
    unknown_card: "No card with this code exists.",
    voided: "This card has been voided.",
    superseded: "This card was re-issued; ask for the customer's current card.",
    other_program: "This card belongs to a program this key does not serve.",
  };

  /** Refused actions after a valid scan. */
  const REFUSED = {
    insufficient_points: "Not enough points for this reward.",
    reward_already_redeemed: "This reward has already been redeemed by this member.",
    reward_inactive: "This reward is no longer offered.",
    not_found: "This reward does not exist.",
    idempotency_key_reused: "This action was already used for a different request.",
    member_voided: "This card has been voided.",
  };

  const state = {
    key: null,
    me: null,
    code: null, // the code of the card on screen
    scan: null, // the last accepted answer
    pending: null, // {label, body, idempotencyKey} awaiting confirmation or retry
    busy: false,
  };

  // ---- status line ----

  function status(kind, text, extra) {
    const box = $("status");
    box.className = "message " + kind;
    box.dataset.kind = (extra && extra.code) || kind;
    if (extra && extra.reason) box.dataset.reason = extra.reason;
    else delete box.dataset.reason;
    $("status-text").textContent = text;
    show($("retry"), Boolean(extra && extra.retry));
    $("retry").textContent = (extra && extra.retryLabel) || "Try again";
    show(box, true);
    // Errors are announced at once; successes politely.
    box.setAttribute("role", kind === "error" ? "alert" : "status");
  }

  function clearStatus() {
    show($("status"), false);
    $("status-text").textContent = "";
  }

  function setBusy(busy) {
    state.busy = busy;
    const till = $("till");
    if (busy) till.setAttribute("aria-busy", "true");
    else till.removeAttribute("aria-busy");
    for (const b of till.querySelectorAll("button, input, select")) {
      if (busy) {
        b.dataset.wasDisabled = b.disabled ? "1" : "";
        b.disabled = true;
      } else if (b.dataset.wasDisabled !== undefined) {
        b.disabled = b.dataset.wasDisabled === "1";
        delete b.dataset.wasDisabled;
      }
    }
  }

  // ---- sign in / out ----

  const session = signIn({
    store,
    form: $("sign-in-form"),
    input: $("key"),
    error: $("sign-in-error"),
    allowed: ["staff", "marketer", "admin"],
    onSignedIn: (key, me) => {
      state.key = key;
      state.me = me;
      $("whoami").textContent = `Signed in as ${me.name}`;
      show($("whoami"), true);
      show($("sign-out"), true);
      show($("sign-in"), false);
      show($("till"), true);
      loadLocations();
      $("camera-start").focus();
    },
  });

  function signOut(message) {
    stopCamera();
    store.clear();
    Object.assign(state, { key: null, me: null, code: null, scan: null, pending: null });
    show($("till"), false);
    show($("member"), false);
    show($("confirm"), false);
    clearStatus();
    show($("whoami"), false);
    show($("sign-out"), false);
    show($("sign-in"), true);
    if (message) {
      $("sign-in-error").textContent = message;
      show($("sign-in-error"), true);
    }
    $("key").focus();
  }

  $("sign-out").addEventListener("click", () => signOut());

  async function loadLocations() {
    const select = $("location");
    select.replaceChildren(el("option", { value: "" }, "No location"));
    let result;
    try {
      result = await api("GET", "/api/v1/locations", { key: state.key });
    } catch (e) {
      status("error", "Network error: the locations could not be loaded.", { code: "network" });
      return;
    }
    if (result.status === 401) return signOut("Your key is no longer accepted.");
    if (!result.ok) return;
    const locations = result.body.locations || [];
    for (const l of locations) {
      const text = locations.some((o) => o.program_id !== l.program_id)
        ? `${l.name} (${l.program_name})`
        : l.name;
      select.append(el("option", { value: l.id }, text));
    }
    const remembered = locationStore.get();
    if (remembered && locations.some((l) => l.id === remembered)) select.value = remembered;
    else if (locations.length === 1) select.value = locations[0].id;
    select.dataset.loaded = String(locations.length);
  }

  $("location").addEventListener("change", (e) => locationStore.set(e.target.value));

  // ---- camera ----

  let stream = null;
  let detector = null;
  let scanning = false;

  async function startCamera() {
    clearStatus();
    const note = $("camera-status");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      note.textContent = "This browser cannot use the camera here. Type the code instead.";
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" } },
        audio: false,
      });
    } catch (e) {
      note.textContent = "The camera could not be started. Type the code instead.";
      return;
    }
    const video = $("video");
    video.srcObject = stream;
    show($("camera"), true);
    try {
      await video.play();
    } catch (e) {
      // Autoplay of a muted inline video is allowed; a failure here still leaves frames.
    }
    detector = null;
    if ("BarcodeDetector" in window) {
      try {
        const formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.includes("qr_code")) {
          detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        }
      } catch (e) {
        detector = null;
      }
    }
    note.dataset.decoder = detector ? "BarcodeDetector" : "jsQR";
    note.textContent = "Point the camera at the card's QR code.";
    show($("camera-start"), false);
    show($("camera-stop"), true);
    scanning = true;
    setTimeout(tick, 0);
  }

  function stopCamera() {
    scanning = false;
    if (stream) {
      for (const t of stream.getTracks()) t.stop();
      stream = null;
    }
    $("video").srcObject = null;
    show($("camera"), false);
    show($("camera-start"), true);
    show($("camera-stop"), false);
  }

  /** One decoding attempt on the current frame. */
  async function decodeFrame() {
    const video = $("video");
    if (video.readyState < 2 || !video.videoWidth) return null;
    if (detector) {
      const found = await detector.detect(video);
      return found.length ? found[0].rawValue : null;
    }
    if (typeof window.jsQR !== "function") return null;
    const canvas = $("frame");
    // Half size at most 640 wide: enough for a card held up to the camera, and fast.
    const scale = Math.min(1, 640 / video.videoWidth);
    const w = Math.round(video.videoWidth * scale);
    const h = Math.round(video.videoHeight * scale);
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, w, h);
    const image = ctx.getImageData(0, 0, w, h);
    const result = window.jsQR(image.data, w, h, { inversionAttempts: "attemptBoth" });
    return result ? result.data : null;
  }

  async function tick() {
    if (!scanning) return;
    let code = null;
    try {
      code = await decodeFrame();
    } catch (e) {
      code = null;
    }
    if (!scanning) return;
    if (code) {
      stopCamera();
      $("camera-status").textContent = "Card read.";
      lookup(code.trim());
      return;
    }
    setTimeout(tick, 150);
  }

  $("camera-start").addEventListener("click", startCamera);
  // Browsers give the camera only to pages over HTTPS (or on this very machine): say so at
  // once, and what still works, rather than a button that cannot work.
  if (!window.isSecureContext) {
    $("camera-start").disabled = true;
    $("camera-status").textContent =
      "The camera needs HTTPS, and this page was opened over plain http. Typing the code and a " +
      "barcode scanner still work. To use the camera, open passwright over https " +
      "(server.tls_cert_file, or a reverse proxy).";
  }
  $("camera-stop").addEventListener("click", () => {
    stopCamera();
    $("camera-status").textContent = "Camera stopped.";
  });

  $("manual-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const code = $("code").value.trim();
    if (!code) {
      $("code").focus();
      return;
    }
    lookup(code);
  });

  // ---- scans ----

  function scanBody(action, extra) {
    return Object.assign(
      { code: state.code, action, location_id: $("location").value || null },
      extra || {},
    );
  }

  async function lookup(code) {
    if (state.busy) return;
    state.code = code;
    state.pending = null;
    show($("confirm"), false);
    status("info", "Looking up the card…", { code: "working" });
    setBusy(true);
    let result;
    try {
      result = await api("POST", "/api/v1/scans", {
        key: state.key,
        body: scanBody("lookup"),
      });
    } catch (e) {
      setBusy(false);
      status("error", "Network error: the card could not be looked up. Try again.", {
        code: "network",
      });
      return;
    }
    setBusy(false);
    if (result.ok) {
      $("code").value = "";
      renderMember(result.body);
      status("ok", `Card accepted: ${result.body.member.name}.`, { code: "accepted" });
      $("member").focus();
      return;
    }
    showRefusal(result);
  }

  /** An error answer from the scans endpoint, in words. */
  function showRefusal(result) {
    if (result.status === 401) return signOut("Your key is no longer accepted.");
    const error = (result.body && result.body.error) || {};
    if (error.code === "scan_rejected") {
      const reason = error.reason || (result.body.scan && result.body.scan.reason) || "";
      state.scan = null;
      show($("member"), false);
      status("error", `Card rejected: ${REJECTED[reason] || error.message || reason}`, {
        code: "scan_rejected",
        reason,
      });
      $("code").focus();
      return;
    }
    const text = REFUSED[error.code] || errorMessage(result);
    if (state.scan && result.status !== 400 && result.status !== 422) {
      // The card changed since it was looked up (another till, an adjustment): what this
      // page shows is out of date, so its actions stay off until the card is looked up again.
      for (const b of $("member").querySelectorAll("button")) b.disabled = true;
      $("member").dataset.stale = "true";
      status("error", `${text} Look the card up again to see where it stands.`, {
        code: error.code || "error",
        retry: true,
        retryLabel: "Look up again",
      });
      $("retry").focus();
      return;
    }
    status("error", text, { code: error.code || "error" });
  }

  function renderMember(answer) {
    state.scan = answer;
    delete $("member").dataset.stale;
    for (const b of $("member").querySelectorAll("#visit, #purchase-form button")) b.disabled = false;
    const m = answer.member;
    $("member-name").textContent = m.name;
    $("member-tier").textContent = m.tier || "–";
    $("member-balance").textContent = points(m.balance);
    $("member-balance").dataset.value = String(m.balance);
    $("member-next").textContent = m.next_tier
      ? `${points(m.next_tier.points_needed)} to ${m.next_tier.name}`
      : "";
    $("member-program").textContent = answer.program ? answer.program.name : "";
    if (m.status && m.status !== "active") {
      $("member-next").textContent = `Card status: ${m.status}`;
    }

    const list = $("rewards");
    list.replaceChildren();
    const rewards = answer.rewards || [];
    if (!rewards.length) list.append(el("li", { class: "hint" }, "No rewards in this program."));
    for (const r of rewards) {
      let note = null;
      let canRedeem = r.affordable && !r.redeemed;
      if (r.redeemed && !r.repeatable) note = "Already redeemed";
      else if (!r.affordable) note = `Needs ${points(r.cost - m.balance)} more`;
      // A reward the member cannot have is shown, but its button is off.
      const button = el(
        "button",
        {
          type: "button",
          class: "small",
          dataset: { rewardId: r.id },
          disabled: !canRedeem,
          "aria-label": `Redeem ${r.name} for ${points(r.cost)}`,
        },
        "Redeem",
      );
      button.addEventListener("click", () =>
        ask(
          `Redeem “${r.name}” for ${points(r.cost)} from ${m.name}? ` +
            `The balance becomes ${points(m.balance - r.cost)}.`,
          { label: "redeem", reward: r.name, body: scanBody("redeem", { reward_id: r.id }) },
        ),
      );
      list.append(
        el(
          "li",
          { dataset: { rewardId: r.id, affordable: String(Boolean(r.affordable)) } },
          el("span", { class: "reward-name" }, r.name),
          el("span", { class: "reward-cost" }, points(r.cost)),
          note ? el("span", { class: "hint" }, note) : null,
          button,
        ),
      );
    }

    const recent = $("recent");
    recent.replaceChildren();
    const entries = answer.recent || [];
    if (!entries.length) recent.append(el("li", { class: "hint" }, "Nothing yet."));
    for (const e of entries) {
      const sign = e.amount > 0 ? "+" : "";
      recent.append(
        el(
          "li",
          {},
          el("span", { class: "amount" }, `${sign}${Number(e.amount).toLocaleString("en")}`),
          ` ${e.kind}${e.reason ? " · " + e.reason : ""} `,
          el("time", { datetime: e.created_at }, when(e.created_at)),
        ),
      );
    }
    show($("member"), true);
  }

  // ---- actions: confirm, send, retry ----

  function ask(question, action) {
    if (state.busy) return;
    state.pending = Object.assign({ idempotencyKey: null }, action);
    $("confirm-text").textContent = question;
    clearStatus();
    show($("confirm"), true);
    $("confirm-yes").focus();
  }

  $("confirm-no").addEventListener("click", () => {
    state.pending = null;
    show($("confirm"), false);
    status("info", "Cancelled; nothing was recorded.", { code: "cancelled" });
  });

  $("confirm-yes").addEventListener("click", () => {
    const action = state.pending;
    if (!action) return;
    // One key per confirmed action; a retry of this action sends the same one.
    if (!action.idempotencyKey) action.idempotencyKey = uuid();
    show($("confirm"), false);
    send(action);
  });

  $("retry").addEventListener("click", () => {
    if (state.pending && state.pending.idempotencyKey) send(state.pending);
    else if (state.code) lookup(state.code);
  });

  async function send(action) {
    if (state.busy) return;
    status("info", "Working…", { code: "working" });
    setBusy(true);
    let result;
    try {
      result = await api("POST", "/api/v1/scans", {
        key: state.key,
        body: action.body,
        idempotencyKey: action.idempotencyKey,
      });
    } catch (e) {
      setBusy(false);
      status(
        "error",
        "Network error: we could not hear back from the server, so this may or may not " +
          "have been recorded. Try again: it will not be recorded twice.",
        { code: "network", retry: true },
      );
      $("retry").focus();
      return;
    }
    setBusy(false);
    if (!result.ok) {
      state.pending = null;
      showRefusal(result);
      return;
    }
    state.pending = null;
    renderMember(result.body);
    const m = result.body.member;
    let text;
    if (action.label === "redeem") {
      const r = result.body.redemption || { name: action.reward };
      text = `Redeemed ${r.name}.`;
    } else if (action.label === "purchase") {
      $("amount").value = "";
      $("products").value = "";
      const e = result.body.entry;
      text = `Purchase recorded${e ? `: ${points(e.amount)} earned` : ""}.`;
    } else {
      const e = result.body.entry;
      text = `Visit recorded${e ? `: ${points(e.amount)} earned` : ""}.`;
    }
    text += ` New balance: ${points(m.balance)}.`;
    if (result.body.replayed) text += " (It had already been recorded.)";
    status("ok", text, { code: "done" });
    $("status").focus();
  }

  $("visit").addEventListener("click", () => {
    const m = state.scan && state.scan.member;
    if (!m) return;
    ask(`Record a visit for ${m.name}?`, { label: "visit", body: scanBody("visit") });
  });

  $("purchase-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const m = state.scan && state.scan.member;
    if (!m) return;
    const raw = $("amount").value.trim().replace(",", ".");
    if (!/^\d+(\.\d{1,2})?$/.test(raw) || Number(raw) <= 0) {
      status("error", "Enter the purchase amount, for example 12.50.", { code: "invalid_amount" });
      $("amount").setAttribute("aria-invalid", "true");
      $("amount").focus();
      return;
    }
    $("amount").removeAttribute("aria-invalid");
    const products = $("products")
      .value.split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    const about = products.length ? ` (${products.join(", ")})` : "";
    ask(`Record a purchase of ${raw}${about} for ${m.name}?`, {
      label: "purchase",
      body: scanBody("purchase", { amount: raw, product_types: products }),
    });
  });

  // Escape backs out of a confirmation, as it would close a dialog.
  $("confirm").addEventListener("keydown", (e) => {
    if (e.key === "Escape") $("confirm-no").click();
  });

  window.addEventListener("pagehide", stopCamera);
  session.resume();
})();
