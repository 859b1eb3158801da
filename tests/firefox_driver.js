// Firefox with the extension (a folder or a zip), driven by puppeteer-core over WebDriver BiDi: one JSON
// command a line on stdin, one JSON answer a line on stdout ({"ok": value} or {"error": message}). Two
// tabs: the reader's page, and one of the extension's own pages, where browser.* calls run with its rights.
// Used by tests/firefox_support.py.
"use strict";
const readline = require("node:readline");

const puppeteer = require(process.env.HUSH_PUPPETEER);
const [firefox, extension, uuid, addonId] = process.argv.slice(2);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let browser;
const tabs = {};

async function open(target, url) {
  if (!url.startsWith("moz-extension:")) {
    await target.goto(url, { waitUntil: "load", timeout: 30000 });
    return;
  }
  // Firefox reports no load event of an extension's page over BiDi: wait for its document instead.
  target.goto(url, { timeout: 15000 }).catch((err) => process.stderr.write(`${url}: ${err}\n`));
  for (const end = Date.now() + 15000; Date.now() < end; await sleep(50)) {
    const ready = await target
      .evaluate((u) => location.href === u && document.readyState === "complete", url)
      .catch(() => false);
    if (ready) return;
  }
  throw new Error(`${url} did not load within 15 s`);
}

const commands = {
  async start() {
    browser = await puppeteer.launch({
      browser: "firefox",
      executablePath: firefox,
      headless: true,
      // Firefox 153 and later refuse to navigate a tab to an extension's page over BiDi without it.
      args: ["-remote-allow-system-access"],
      extraPrefsFirefox: {
        // The extension's pages get a known address: moz-extension://<uuid>/options.html.
        "extensions.webextensions.uuids": JSON.stringify({ [addonId]: uuid }),
        // Every host but loopback goes through a closed local port, so a real page's outside resources
        // fail at once instead of waiting out DNS lookups (5 s each here): the load event comes on time.
        "network.proxy.type": 1,
        "network.proxy.http": "127.0.0.1",
        "network.proxy.http_port": 9,
        "network.proxy.ssl": "127.0.0.1",
        "network.proxy.ssl_port": 9,
        "network.proxy.socks_remote_dns": false,
      },
    });
    await browser.installExtension(extension);
    tabs.extension = await browser.newPage();
    tabs.page = await browser.newPage();
    return browser.version();
  },
  async goto({ url, tab }) {
    await open(tabs[tab], url);
    return null;
  },
  async evaluate({ fn, arg, tab }) {
    return tabs[tab].evaluate(`(${fn})(${JSON.stringify(arg ?? null)})`);
  },
  async close() {
    await browser.close();
    return null;
  },
};

readline.createInterface({ input: process.stdin }).on("line", async (line) => {
  const { command, ...args } = JSON.parse(line);
  let answer;
  try {
    answer = { ok: (await commands[command](args)) ?? null }; // undefined would drop the key
  } catch (err) {
    answer = { error: String(err && err.message ? err.message : err) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
  if (command === "close") process.exit(0);
});
