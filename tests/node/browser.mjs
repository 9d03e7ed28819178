// Drives headless Chromium (puppeteer-core; the system's Chromium, nothing downloaded) for the
// Rust browser tests. It reads one JSON command per line on stdin and answers one JSON line on
// stdout, so a test can act, then check the database, then act again.
//
//   environment: PASSWRIGHT_BROWSER (the chromium binary), PASSWRIGHT_BROWSER_PROFILE (an empty
//   directory for --user-data-dir), optional PASSWRIGHT_BROWSER_CAMERA (a .y4m file the fake
//   camera plays), optional PASSWRIGHT_BROWSER_DOWNLOADS (where downloads are saved),
//   optional PASSWRIGHT_BROWSER_HOST (a host name resolved to 127.0.0.1).
//   first line out: {"ready": true, "version": "..."}
//   then per command {"id", "op", ...}: {"id", "ok": true, "value"} or {"id", "ok": false, "error"}
//
// Ops: goto {url}, viewport {width, height, mobile}, fill {selector, value}, click {selector},
// select {selector, value}, wait {selector, text?, timeout?}, gone {selector}, text {selector},
// attr {selector, name}, eval {expression}, screenshot {path}, fail_responses {pattern, count},
// console {} (messages and page errors so far), user_agent {ua} (for the pages that follow),
// keys {text} (typed into whatever has the focus), press {key} (one key: "Tab", "Enter").
import { createInterface } from "node:readline";
import puppeteer from "puppeteer-core";

const env = process.env;
const camera = env.PASSWRIGHT_BROWSER_CAMERA;
// puppeteer adds --headless (the new headless mode) itself.
const args = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-dev-shm-usage",
  // Camera permission without a prompt; the fake device plays our file when one is given.
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
];
if (camera) args.push(`--use-file-for-fake-video-capture=${camera}`);
// A host name that resolves to this machine without being "localhost": a page opened by it
// over plain http is what a shop's LAN address is to the browser, not a secure context.
if (env.PASSWRIGHT_BROWSER_HOST) args.push(`--host-resolver-rules=MAP ${env.PASSWRIGHT_BROWSER_HOST} 127.0.0.1`);

const browser = await puppeteer.launch({
  executablePath: env.PASSWRIGHT_BROWSER,
  userDataDir: env.PASSWRIGHT_BROWSER_PROFILE,
  headless: true,
  pipe: true,
  args,
  protocolTimeout: 60000,
});
const page = (await browser.pages())[0] || (await browser.newPage());
page.setDefaultTimeout(15000);
const logs = [];
page.on("console", (m) => logs.push({ type: m.type(), text: m.text() }));
page.on("pageerror", (e) => logs.push({ type: "pageerror", text: String(e && e.message) }));
page.on("requestfailed", (r) =>
  logs.push({ type: "requestfailed", text: `${r.url()} ${r.failure()?.errorText}` }),
);
if (env.PASSWRIGHT_BROWSER_DOWNLOADS) {
  const cdp = await browser.target().createCDPSession();
  await cdp.send("Browser.setDownloadBehavior", {
    behavior: "allow",
    downloadPath: env.PASSWRIGHT_BROWSER_DOWNLOADS,
  });
}

// Answers lost on the way back: the request reaches the server, its answer is dropped.
let failing = null;
const cdpPage = await page.createCDPSession();
cdpPage.on("Fetch.requestPaused", async (event) => {
  try {
    if (failing && failing.count > 0) {
      failing.count -= 1;
      await cdpPage.send("Fetch.failRequest", {
        requestId: event.requestId,
        errorReason: "ConnectionReset",
      });
      if (failing.count === 0) await cdpPage.send("Fetch.disable");
    } else {
      await cdpPage.send("Fetch.continueRequest", { requestId: event.requestId });
    }
  } catch (e) {
    logs.push({ type: "driver", text: String(e) });
  }
});

const visible = (selector, text) =>
  page.waitForFunction(
    (sel, want) => {
      const node = document.querySelector(sel);
      if (!node || node.closest("[hidden]")) return false;
      const box = node.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) return false;
      return want === null || node.textContent.includes(want);
    },
    {},
    selector,
    text,
  );

const ops = {
  async goto({ url }) {
    const r = await page.goto(url, { waitUntil: "load" });
    return { status: r ? r.status() : null };
  },
  async user_agent({ ua }) {
    await page.setUserAgent(ua);
  },
  async viewport({ width, height, mobile }) {
    await page.setViewport({ width, height, isMobile: Boolean(mobile), hasTouch: Boolean(mobile) });
  },
  async fill({ selector, value }) {
    await visible(selector, null);
    await page.$eval(selector, (n) => {
      n.value = "";
    });
    await page.type(selector, value);
  },
  async keys({ text }) {
    await page.keyboard.type(text);
  },
  async press({ key }) {
    await page.keyboard.press(key);
  },
  async click({ selector }) {
    await page.waitForFunction(
      (sel) => {
        const n = document.querySelector(sel);
        return n && !n.disabled && !n.closest("[hidden]");
      },
      {},
      selector,
    );
    await page.click(selector);
  },
  async select({ selector, value }) {
    await page.waitForSelector(selector);
    return page.select(selector, value);
  },
  // Waits until a script expression is true.
  async wait_for({ expression }) {
    await page.waitForFunction(expression);
  },
  // Picks a file in a file input, as a person choosing it in the dialog (fires "change").
  async upload({ selector, path }) {
    const input = await page.waitForSelector(selector);
    await input.uploadFile(path);
  },
  async wait({ selector, text = null, timeout }) {
    if (timeout) page.setDefaultTimeout(timeout);
    try {
      // A page that navigates meanwhile (a form sent with Enter) destroys the context the
      // check ran in: check again on the new page.
      for (let attempt = 1; ; attempt++) {
        try {
          await visible(selector, text);
          return await page.$eval(selector, (n) => n.textContent.trim());
        } catch (e) {
          if (attempt >= 3 || !String(e.message).includes("Execution context was destroyed")) throw e;
        }
      }
    } finally {
      page.setDefaultTimeout(15000);
    }
  },
  async gone({ selector }) {
    await page.waitForFunction(
      (sel) => {
        const n = document.querySelector(sel);
        return !n || Boolean(n.closest("[hidden]"));
      },
      {},
      selector,
    );
  },
  async text({ selector }) {
    return page.$eval(selector, (n) => n.textContent.trim());
  },
  async attr({ selector, name }) {
    return page.$eval(selector, (n, a) => n.getAttribute(a), name);
  },
  async eval({ expression }) {
    return page.evaluate(expression);
  },
  async screenshot({ path }) {
    await page.screenshot({ path, fullPage: true });
    return path;
  },
  async fail_responses({ pattern, count }) {
    failing = { count };
    await cdpPage.send("Fetch.enable", {
      patterns: [{ urlPattern: pattern, requestStage: "Response" }],
    });
  },
  async console() {
    return logs;
  },
};

const out = (value) => process.stdout.write(JSON.stringify(value) + "\n");
out({ ready: true, version: await browser.version() });

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let command;
  try {
    command = JSON.parse(line);
  } catch (e) {
    out({ id: null, ok: false, error: `not JSON: ${line}` });
    continue;
  }
  const op = ops[command.op];
  if (!op) {
    out({ id: command.id, ok: false, error: `no op ${command.op}` });
    continue;
  }
  try {
    const value = await op(command);
    out({ id: command.id, ok: true, value: value === undefined ? null : value });
  } catch (e) {
    out({
      id: command.id,
      ok: false,
      error: String(e && e.message ? e.message : e),
      url: page.url(),
      console: logs.slice(-20),
    });
  }
}
await browser.close();
