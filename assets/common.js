// Shared by the staff scanner, the dashboard and the console's pages: calling the API with
// the signed-in key (or, in the console, the session cookie and its CSRF token), keeping a key
// for the browser tab only, and building DOM from data without ever parsing data as HTML.
"use strict";

const Passwright = (() => {
  class NetworkError extends Error {}

  /** The console page's CSRF token (its `<meta name="csrf-token">`), if it has one. */
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : null;
  }

  /** Calls the API with `key`, or without one with the console session's cookie (and its
   *  CSRF token on changes). Resolves to {status, ok, body, response}; rejects with
   *  NetworkError when no answer arrived (offline, connection reset), so callers can offer a
   *  retry. */
  async function api(method, path, { key, body, idempotencyKey, accept } = {}) {
    const headers = { Accept: accept || "application/json" };
    if (key) headers.Authorization = "Bearer " + key;
    else if (method !== "GET" && csrfToken()) headers["X-CSRF-Token"] = csrfToken();
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: key ? "omit" : "same-origin",
        cache: "no-store",
      });
    } catch (e) {
      throw new NetworkError(String(e && e.message ? e.message : e));
    }
    let parsed = null;
    const type = response.headers.get("Content-Type") || "";
    if (type.startsWith("application/json")) {
      try {
        parsed = await response.json();
      } catch (e) {
        throw new NetworkError("the answer was cut off");
      }
    }
    return { status: response.status, ok: response.ok, body: parsed, response };
  }

  /** The message of a JSON error answer, or a fallback naming the status. */
  function errorMessage(result) {
    const error = result.body && result.body.error;
    if (error && error.message) return error.message;
    return "The server answered " + result.status + ".";
  }

  /** A key kept in sessionStorage: gone when the tab closes, never sent anywhere but the API. */
  function keyStore(name) {
    return {
      get: () => sessionStorage.getItem(name),
      set: (value) => sessionStorage.setItem(name, value),
      clear: () => sessionStorage.removeItem(name),
    };
  }

  /** A fresh random id for an Idempotency-Key. */
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** An element with attributes and children; strings become text nodes. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === null || v === undefined) continue;
      if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  function points(n) {
    const v = Number(n);
    return v.toLocaleString("en") + (Math.abs(v) === 1 ? " point" : " points");
  }

  function when(rfc3339) {
    const d = new Date(rfc3339);
    if (Number.isNaN(d.getTime())) return rfc3339 || "";
    return d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
  }

  /** The sign-in form, shared by both pages: checks a key with GET /api/v1/me. */
  function signIn({ store, form, input, error, onSignedIn, allowed }) {
    async function check(key) {
      let result;
      try {
        result = await api("GET", "/api/v1/me", { key });
      } catch (e) {
        return { error: "Network error: the server could not be reached. Try again." };
      }
      if (result.status === 401) return { error: "This key was not accepted." };
      if (!result.ok) return { error: errorMessage(result) };
      if (allowed && !allowed.includes(result.body.role)) {
        return { error: `A ${result.body.role} key cannot use this page.` };
      }
      return { me: result.body };
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      form.setAttribute("aria-busy", "true");
      const outcome = await check(key);
      button.disabled = false;
      form.removeAttribute("aria-busy");
      if (outcome.error) {
        error.textContent = outcome.error;
        show(error, true);
        input.focus();
        return;
      }
      show(error, false);
      input.value = "";
      store.set(key);
      onSignedIn(key, outcome.me);
    });
    return {
      /** Signs in again with the key kept for this tab, if it is still good. */
      async resume() {
        const key = store.get();
        if (!key) return false;
        const outcome = await check(key);
        if (outcome.error) {
          store.clear();
          return false;
        }
        onSignedIn(key, outcome.me);
        return true;
      },
    };
  }

  return { api, errorMessage, keyStore, uuid, el, show, points, when, signIn, NetworkError };
})();
