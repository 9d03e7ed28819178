// The card designer (/console/programs/{id}): keeps the colour pickers and their text boxes
// together, sends the form to .../preview as it changes and draws the answer (the pass.json
// and Google class and object passwright would sign) as the three cards, and uploads images
// through the REST API with the console session. Everything typed is put into the page with
// textContent, never as HTML.
"use strict";

(function () {
  const form = document.getElementById("design");
  if (!form) return;
  const program = document.body.dataset.program;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let images = null;
  let timer = null;
  let sent = 0;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function bidi(tag, className, text) {
    const node = el(tag, className, text);
    node.dir = "auto";
    return node;
  }

  // ----- colours: picker and text box say the same -----
  for (const picker of document.querySelectorAll("input[data-colour]")) {
    const box = document.getElementById(picker.dataset.colour);
    picker.addEventListener("input", () => {
      box.value = picker.value;
      schedule();
    });
    box.addEventListener("input", () => {
      if (/^#[0-9a-fA-F]{6}$/.test(box.value.trim())) picker.value = box.value.trim().toLowerCase();
    });
  }

  // ----- which card is shown -----
  const faces = document.querySelectorAll("[data-face]");
  for (const button of document.querySelectorAll("[data-show]")) {
    button.addEventListener("click", () => {
      for (const b of document.querySelectorAll("[data-show]")) {
        b.setAttribute("aria-pressed", String(b === button));
      }
      for (const face of faces) face.hidden = face.dataset.face !== button.dataset.show;
    });
  }

  // ----- the preview -----
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  async function refresh() {
    const mine = ++sent;
    const body = new URLSearchParams(new FormData(form));
    let answer;
    try {
      const r = await fetch("/console/programs/" + program + "/preview", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body,
      });
      if (!r.ok) throw new Error("status " + r.status);
      answer = await r.json();
    } catch (e) {
      showProblems(["The preview could not be updated (" + e.message + "). Your changes are still here; saving works."]);
      return;
    }
    if (mine !== sent) return; // a newer preview is on its way
    showProblems(answer.problems.map((p) => p.message));
    showWarnings(answer.warnings);
    if (!answer.pass) return;
    images = answer.images;
    drawFront(answer.pass);
    drawBack(answer.pass);
    drawGoogle(answer.google_class, answer.google_object);
    document.body.dataset.previewed = String(mine);
  }

  function showProblems(messages) {
    const box = document.getElementById("preview-problems");
    box.replaceChildren();
    if (!messages.length) {
      box.hidden = true;
      return;
    }
    box.append(el("p", null, "The preview shows the last design that works. To fix:"));
    const list = el("ul");
    for (const m of messages) list.append(el("li", null, m));
    box.append(list);
    box.hidden = false;
  }

  function showWarnings(warnings) {
    const list = document.getElementById("contrast");
    list.replaceChildren(...warnings.map((w) => el("li", null, w)));
  }

  function value(field) {
    if (field.dateStyle && typeof field.value === "string") {
      const d = new Date(field.value);
      if (!isNaN(d)) return d.toLocaleDateString(undefined, { dateStyle: "medium" });
    }
    return field.value;
  }

  function fieldBox(field, className) {
    const box = el("div", "f " + (className || ""));
    box.dataset.key = field.key;
    box.append(bidi("span", "l", field.label || ""), bidi("span", "v", value(field)));
    return box;
  }

  function barcode(format, alt) {
    const box = el("div", "barcode");
    const kind = { PKBarcodeFormatQR: "qr", PKBarcodeFormatPDF417: "pdf417", PKBarcodeFormatAztec: "aztec", QR_CODE: "qr", PDF_417: "pdf417", AZTEC: "aztec" }[format] || "qr";
    const code = el("div", "code " + kind);
    code.setAttribute("role", "img");
    code.setAttribute("aria-label", { qr: "QR code", pdf417: "PDF417 barcode", aztec: "Aztec code" }[kind]);
    box.append(code);
    if (alt) box.append(bidi("span", "alt", alt));
    return box;
  }

  function drawFront(pass) {
    const card = document.getElementById("apple-front");
    const sc = pass.storeCard;
    card.style.backgroundColor = pass.backgroundColor;
    card.style.color = pass.foregroundColor;
    card.style.setProperty("--label", pass.labelColor);
    const top = el("div", "top");
    const logo = el("img", "logo");
    logo.src = images.logo;
    logo.alt = "";
    top.append(logo);
    if (pass.logoText) top.append(bidi("span", "logo-text", pass.logoText));
    const header = el("div", "header");
    for (const f of sc.headerFields || []) header.append(fieldBox(f, "right"));
    top.append(header);
    const strip = el("div", "strip");
    strip.style.backgroundImage = 'url("' + images.strip + '")';
    for (const f of sc.primaryFields || []) strip.append(fieldBox(f, "primary"));
    const rows = el("div", "rows");
    for (const list of [sc.secondaryFields || [], sc.auxiliaryFields || []]) {
      if (!list.length) continue;
      const row = el("div", "row");
      for (const f of list) row.append(fieldBox(f));
      rows.append(row);
    }
    const b = pass.barcodes && pass.barcodes[0];
    card.replaceChildren(top, strip, rows, barcode(b && b.format, b && b.altText));
  }

  function drawBack(pass) {
    const back = document.getElementById("apple-back");
    const list = el("dl");
    for (const f of pass.storeCard.backFields || []) {
      list.append(bidi("dt", null, f.label || ""), bidi("dd", null, value(f)));
    }
    const head = el("div", "back-head");
    const icon = el("img", "icon");
    icon.src = images.icon;
    icon.alt = "";
    head.append(icon, bidi("strong", null, pass.organizationName));
    back.replaceChildren(head, list);
  }

  function readableOn(hex) {
    const n = parseInt(hex.replace("#", ""), 16);
    const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => {
      c /= 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    return l > 0.179 ? "#202124" : "#ffffff";
  }

  function balance(b) {
    return b.int !== undefined ? b.int : b.string;
  }

  function drawGoogle(cls, obj) {
    const card = document.getElementById("google-card");
    const face = el("div", "g-face");
    face.style.backgroundColor = cls.hexBackgroundColor;
    face.style.color = readableOn(cls.hexBackgroundColor);
    const top = el("div", "g-top");
    const logo = el("img", "g-logo");
    logo.src = images.google_logo;
    logo.alt = "";
    top.append(logo, bidi("span", "g-issuer", cls.issuerName));
    const title = bidi("div", "g-title", cls.programName);
    const points = el("div", "g-points");
    for (const p of [obj.loyaltyPoints, obj.secondaryLoyaltyPoints]) {
      if (!p) continue;
      const box = el("div", "f");
      box.append(bidi("span", "l", p.label), bidi("span", "v", balance(p.balance)));
      points.append(box);
    }
    const account = el("div", "f");
    account.append(el("span", "l", "Member"), bidi("span", "v", obj.accountName));
    points.append(account);
    const code = barcode(obj.barcode.type, obj.barcode.alternateText);
    const hero = el("img", "g-hero");
    hero.src = images.google_hero;
    hero.alt = "";
    face.append(top, title, points, code, hero);
    const details = el("dl", "g-details");
    for (const t of (cls.textModulesData || []).concat(obj.textModulesData || [])) {
      details.append(bidi("dt", null, t.header), bidi("dd", null, t.body));
    }
    for (const u of (cls.linksModuleData && cls.linksModuleData.uris) || []) {
      details.append(bidi("dt", null, u.description), bidi("dd", null, u.uri));
    }
    card.replaceChildren(face, details);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);

  // ----- unsaved changes: leaving the page (a sample, another page) asks first -----
  let unsaved = false;
  const markUnsaved = () => { unsaved = true; };
  form.addEventListener("input", markUnsaved);
  form.addEventListener("change", markUnsaved);
  form.addEventListener("submit", () => { unsaved = false; });
  window.addEventListener("beforeunload", (event) => {
    if (!unsaved) return;
    event.preventDefault();
    event.returnValue = "";
  });

  // ----- images: one upload each, through the API with the session -----
  async function api(method, path, body, type) {
    const headers = { "X-CSRF-Token": csrf };
    if (type) headers["Content-Type"] = type;
    const r = await fetch(path, { method, credentials: "same-origin", headers, body });
    let answer = null;
    try {
      answer = await r.json();
    } catch (e) {
      answer = null;
    }
    if (!r.ok) {
      const message = answer && answer.error ? answer.error.message : "The upload failed (" + r.status + ").";
      throw new Error(message);
    }
    return answer;
  }

  for (const input of document.querySelectorAll("input[data-upload]")) {
    input.addEventListener("change", async () => {
      const file = input.files[0];
      if (!file) return;
      const kind = input.dataset.upload;
      const state = document.getElementById("state-" + kind);
      state.className = "hint upload-state";
      state.textContent = "Uploading " + file.name + "…";
      const type = file.type || (/\.jpe?g$/i.test(file.name) ? "image/jpeg" : "image/png");
      try {
        const made = await api("PUT", "/api/v1/programs/" + program + "/artwork/" + kind, file, type);
        state.className = "message ok upload-state";
        state.textContent = "Done: " + made.images.map((i) => i.width + "×" + i.height).join(", ") + " pixels. Cards on phones update within a minute.";
        refresh();
      } catch (e) {
        state.className = "message error upload-state";
        state.setAttribute("role", "alert");
        state.textContent = e.message;
      }
      input.value = "";
    });
  }

  for (const button of document.querySelectorAll("[data-drawn]")) {
    button.addEventListener("click", async () => {
      const kind = button.dataset.drawn;
      const state = document.getElementById("state-" + kind);
      try {
        await api("DELETE", "/api/v1/programs/" + program + "/images/" + kind);
        state.className = "hint upload-state";
        state.textContent = "Drawn in your colours.";
        button.remove();
        refresh();
      } catch (e) {
        state.className = "message error upload-state";
        state.textContent = e.message;
      }
    });
  }

  refresh();
})();
