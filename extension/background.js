/* Hush service worker (Chromium) / background script (Firefox).
 *
 * The only part of Hush that talks to the endpoint: content scripts hand it a compact copy of the page
 * (or of a subtree added later), it POSTs that to {endpoint}/v1/classify, checks the answer's shape and
 * returns the ids to hide. It also injects the user-origin hiding style sheet, keeps the badge, owns the
 * context menu and stores the reader's corrections.
 */
"use strict";

if (typeof importScripts === "function" && typeof globalThis.Hush === "undefined") {
  importScripts("lib/common.js"); // Chromium service worker; Firefox lists lib/common.js in background.scripts
}

const { api, checkAnswer, checkEndpoint, isSiteDisabled, loadSettings, siteKey } = globalThis.Hush;

const EXTENSION_ORIGIN = api.runtime.getURL("");
const HEALTH_OK_TTL_MS = 20000;
const HEALTH_FAIL_TTL_MS = 3000;
const PAGE_TIMEOUT_MS = 15000;
const FRAGMENT_TIMEOUT_MS = 8000;
const HEALTH_TIMEOUT_MS = 3000;
const MAX_ANSWER_BYTES = 1024 * 1024;
const MAX_CORRECTIONS = 200;
const MAX_CORRECTION_CHARS = 3 * 1024 * 1024;
const MENU_HIDE = "hush-hide";
const MENU_NOT_APPEAL = "hush-not-appeal";

// The style sheet that collapses blocks. Injected with origin "USER" so that the page's own CSS, even
// with !important, cannot undo it (user !important declarations win the cascade).
const HIDING_CSS = `
[data-hush-hidden], [data-hush-unseen] { display: none !important; }
hush-placeholder {
  all: initial !important;
  display: block !important;
  box-sizing: border-box !important;
  margin: 4px 0 !important;
  min-height: 0 !important;
  max-width: 100% !important;
  visibility: visible !important;
  opacity: 1 !important;
  position: static !important;
  transform: none !important;
  contain: content !important;
  align-self: start !important;
}
hush-placeholder[data-hush-inline] { display: inline-block !important; margin: 0 2px !important; }
[data-hush-placeholder-wrap] {
  list-style: none !important;
  visibility: visible !important;
  opacity: 1 !important;
}
`;

const health = { ok: false, checkedAt: 0, endpoint: "", model: "", error: "", pending: null };

// ---------------------------------------------------------------------------------------------- sender
function isOwnExtensionPage(sender) {
  return (
    !!sender &&
    sender.id === api.runtime.id &&
    typeof sender.url === "string" &&
    sender.url.startsWith(EXTENSION_ORIGIN)
  );
}

function isOwnContentScript(sender) {
  return (
    !!sender &&
    sender.id === api.runtime.id &&
    !!sender.tab &&
    typeof sender.tab.id === "number" &&
    typeof sender.url === "string" &&
    /^https?:/i.test(sender.url)
  );
}

// ------------------------------------------------------------------------------------------- endpoint
function authHeaders(settings) {
  return settings.token ? { Authorization: "Bearer " + settings.token } : {};
}

async function fetchWithTimeout(url, init, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await fetch(url, {
      ...init,
      signal: controller.signal,
      credentials: "omit",
      cache: "no-store",
      redirect: "error",
      referrerPolicy: "no-referrer",
    });
  } finally {
    clearTimeout(timer);
  }
}

async function readJson(response) {
  const type = response.headers.get("content-type") || "";
  if (!/^application\/([a-z.+-]*\+)?json\b/i.test(type)) {
    throw new Error("the endpoint did not answer with JSON");
  }
  const text = await response.text();
  if (text.length > MAX_ANSWER_BYTES) throw new Error("the endpoint's answer is too large");
  return JSON.parse(text);
}

function errorMessage(data, status) {
  const err = data && typeof data === "object" ? data.error : null;
  const message = err && typeof err.message === "string" ? err.message.slice(0, 200) : "";
  return "HTTP " + status + (message ? ": " + message : "");
}

/** GET {endpoint}/healthz. Returns {ok, model?, error?}. */
async function checkHealth(endpoint, token) {
  const checked = checkEndpoint(endpoint);
  if (!checked.ok) return { ok: false, error: checked.error };
  try {
    const response = await fetchWithTimeout(
      checked.url + "/healthz",
      { method: "GET", headers: token ? { Authorization: "Bearer " + token } : {} },
      HEALTH_TIMEOUT_MS
    );
    let data = null;
    try {
      data = await readJson(response);
    } catch (_err) {
      data = null;
    }
    if (!response.ok) return { ok: false, error: errorMessage(data, response.status) };
    if (!data || data.status !== "ok") return { ok: false, error: "the endpoint is not a Hush server" };
    const model = typeof data.model === "string" ? data.model.slice(0, 100) : "";
    return { ok: true, model };
  } catch (err) {
    return { ok: false, error: "cannot reach " + checked.url + " (" + (err && err.name === "AbortError" ? "timed out" : "connection failed") + ")" };
  }
}

/** Options' "Check connection": checkHealth, then, since /healthz asks for no token, a route under /v1/
 * that tells whether the token (or its absence) is accepted. Page loads need only checkHealth: a refused
 * token shows there in the answer to the page itself. */
async function checkConnection(endpoint, token) {
  const health = await checkHealth(endpoint, token);
  if (!health.ok) return health;
  const url = checkEndpoint(endpoint).url + "/v1/model";
  try {
    const headers = token ? { Authorization: "Bearer " + token } : {};
    const guarded = await fetchWithTimeout(url, { method: "GET", headers }, HEALTH_TIMEOUT_MS);
    if (guarded.status === 401 || guarded.status === 403) {
      return { ok: false, error: token ? "the endpoint refused the token (HTTP " + guarded.status + ")" :
        "the endpoint asks for a token (HTTP " + guarded.status + "): set it in Options" };
    }
  } catch (_err) {
    // reached a moment ago: /healthz has said what there is to say
  }
  return health;
}

/** Health of the configured endpoint, cached briefly so that page loads do not each ask. */
async function endpointHealth(settings) {
  const now = Date.now();
  const ttl = health.ok ? HEALTH_OK_TTL_MS : HEALTH_FAIL_TTL_MS;
  if (health.endpoint === settings.endpoint && now - health.checkedAt < ttl) return health;
  if (health.pending && health.endpoint === settings.endpoint) return health.pending;
  health.endpoint = settings.endpoint;
  health.pending = checkHealth(settings.endpoint, settings.token).then((result) => {
    Object.assign(health, { ok: result.ok, model: result.model || "", error: result.error || "" });
    health.checkedAt = Date.now();
    health.pending = null;
    return health;
  });
  return health.pending;
}

function markUnreachable(settings, error) {
  if (health.endpoint === settings.endpoint) {
    Object.assign(health, { ok: false, error, checkedAt: Date.now() });
  }
}

async function gzip(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** POST one page or fragment to the endpoint. Returns {ok: true, hide} or {ok: false, error, unreachable}. */
async function classify(settings, request, timeoutMs) {
  const checked = checkEndpoint(settings.endpoint);
  if (!checked.ok) return { ok: false, error: checked.error, unreachable: true };
  const payload = JSON.stringify({
    url: request.url,
    html: request.html,
    context: { title: request.title, lang: request.lang },
  });
  const headers = { "Content-Type": "application/json", ...authHeaders(settings) };
  let body = payload;
  if (!checked.loopback && typeof CompressionStream === "function" && payload.length > 4096) {
    body = await gzip(payload); // only worth it across a network; the server accepts gzip bodies
    headers["Content-Encoding"] = "gzip";
  }
  let response;
  try {
    response = await fetchWithTimeout(checked.url + "/v1/classify", { method: "POST", headers, body }, timeoutMs);
  } catch (err) {
    const error = "cannot reach " + checked.url + (err && err.name === "AbortError" ? " (timed out)" : "");
    markUnreachable(settings, error);
    return { ok: false, error, unreachable: true };
  }
  let data;
  try {
    data = await readJson(response);
  } catch (err) {
    return { ok: false, error: "bad answer from the endpoint: " + err.message, status: response.status };
  }
  if (!response.ok) {
    return {
      ok: false,
      error: errorMessage(data, response.status),
      status: response.status,
      unreachable: response.status === 401 || response.status === 403 || response.status >= 500,
    };
  }
  try {
    return { ok: true, hide: checkAnswer(data) };
  } catch (err) {
    return { ok: false, error: "rejected the endpoint's answer: " + err.message, rejected: true };
  }
}

// ---------------------------------------------------------------------------------------------- badge
async function setBadge(tabId, state, count, detail) {
  let text = "";
  let color = "#5b6270";
  let title = "Hush";
  if (state === "unreachable") {
    text = "!";
    color = "#c01c28";
    title = "Hush cannot reach its endpoint" + (detail ? ": " + detail : "") + ". The page is left as it was.";
  } else if (state === "paused") {
    title = "Hush is paused on this site";
  } else if (count > 0) {
    text = count > 999 ? "999+" : String(count);
    title = "Hush collapsed " + count + (count === 1 ? " appeal" : " appeals") + " on this page";
  }
  try {
    await api.action.setBadgeText({ tabId, text });
    if (text) await api.action.setBadgeBackgroundColor({ tabId, color });
    await api.action.setTitle({ tabId, title });
  } catch (_err) {
    // The tab went away meanwhile.
  }
}

// ---------------------------------------------------------------------------------------- hiding CSS
async function injectHidingCss(sender) {
  try {
    await api.scripting.insertCSS({
      target: { tabId: sender.tab.id, frameIds: [sender.frameId || 0] },
      css: HIDING_CSS,
      origin: "USER",
    });
    return { ok: true };
  } catch (err) {
    return { ok: false, error: String((err && err.message) || err) };
  }
}

// ---------------------------------------------------------------------------------------- corrections
function cleanText(value, max) {
  return typeof value === "string" ? value.slice(0, max) : "";
}

async function storeCorrection(message) {
  const html = cleanText(message.html, MAX_CORRECTION_CHARS + 1);
  if (!html || html.length > MAX_CORRECTION_CHARS) return { ok: false, error: "page too large to store" };
  const kind = message.kind === "not-appeal" ? "not-appeal" : "appeal";
  const entry = {
    id: Date.now().toString(36) + Math.random().toString(36).slice(2, 8),
    kind,
    url: cleanText(message.url, 2000),
    title: cleanText(message.title, 300),
    elementId: typeof message.elementId === "string" && Hush.ID_RE.test(message.elementId) ? message.elementId : "",
    view: cleanText(message.view, 40),
    createdAt: new Date().toISOString(),
    html,
  };
  const stored = await api.storage.local.get("corrections");
  const list = Array.isArray(stored.corrections) ? stored.corrections : [];
  // A later correction on the same view of a page replaces the one stored before: each is the whole page
  // labelled as the reader judged it then, so the earlier one contradicts what the reader said since (a
  // block they went on to call "not an appeal" labelled appeal). So does the same correction again. The
  // replacement keeps the id and date the export names its file by: unzipped over an earlier export,
  // it replaces that file instead of standing beside it.
  const same = list.findIndex((c) => c && c.url === entry.url &&
    ((entry.view && c.view === entry.view) || (c.kind === kind && c.html === html)));
  if (same >= 0) {
    entry.id = list[same].id;
    entry.createdAt = list[same].createdAt;
    list.splice(same, 1);
  }
  list.push(entry);
  while (list.length > MAX_CORRECTIONS) list.shift();
  await api.storage.local.set({ corrections: list });
  return { ok: true, count: list.length };
}

// --------------------------------------------------------------------------------------------- sites
async function setSitePaused(host, paused, tabId) {
  const key = siteKey(host);
  if (!key) return { ok: false, error: "no site" };
  const stored = await api.storage.local.get("settings");
  const settings = Object.assign({}, stored.settings || {});
  const list = Array.isArray(settings.disabledSites) ? settings.disabledSites.map(siteKey) : [];
  const next = paused ? Array.from(new Set(list.concat([key]))) : list.filter((s) => s !== key);
  settings.disabledSites = next;
  await api.storage.local.set({ settings });
  // Every open tab of the site, not only the popup's: a second tab would go on hiding (or not) until
  // reloaded.
  const tabs = new Set(typeof tabId === "number" ? [tabId] : []);
  for (const tab of await api.tabs.query({})) {
    let host = "";
    try {
      host = new URL(tab.url || "").hostname;
    } catch (_err) {
      continue;
    }
    if (isSiteDisabled(list, host) !== isSiteDisabled(next, host)) tabs.add(tab.id);
  }
  for (const id of tabs) {
    try {
      await api.tabs.sendMessage(id, { type: paused ? "pause" : "resume" });
    } catch (_err) {
      // No content script in that tab.
    }
    await setBadge(id, paused ? "paused" : "ok", 0);
  }
  return { ok: true, disabledSites: next };
}

// ----------------------------------------------------------------------------------------- messages
async function onContentMessage(message, sender) {
  const tabId = sender.tab.id;
  switch (message.type) {
    case "hello": {
      const settings = await loadSettings();
      let host = "";
      try {
        host = new URL(sender.url).hostname;
      } catch (_err) {
        return { run: false, reason: "not-http" };
      }
      if (isSiteDisabled(settings.disabledSites, host)) {
        if (sender.frameId === 0) await setBadge(tabId, "paused", 0);
        return { run: false, reason: "paused", mode: settings.mode };
      }
      const h = await endpointHealth(settings);
      if (!h.ok) {
        await setBadge(tabId, "unreachable", 0, h.error);
        return { run: false, reason: "unreachable", error: h.error };
      }
      return { run: true, mode: settings.mode };
    }
    case "classify": {
      const settings = await loadSettings();
      const request = {
        url: cleanText(message.url, 2000),
        html: cleanText(message.html, 16 * 1024 * 1024),
        title: cleanText(message.title, 500),
        lang: cleanText(message.lang, 35),
      };
      if (!request.html) return { ok: false, error: "empty page" };
      const result = await classify(settings, request, message.fragment ? FRAGMENT_TIMEOUT_MS : PAGE_TIMEOUT_MS);
      // A fragment that fails leaves what is collapsed as it is: the badge keeps its count.
      if (!result.ok && result.unreachable && !message.fragment) await setBadge(tabId, "unreachable", 0, result.error);
      return result;
    }
    case "css":
      return injectHidingCss(sender);
    case "count":
      if (sender.frameId === 0) {
        const count = Number.isInteger(message.count) && message.count >= 0 ? message.count : 0;
        const badgeState = message.state === "unreachable" || message.state === "paused" ? message.state : "ok";
        await setBadge(tabId, badgeState, count, cleanText(message.error, 200));
      }
      return { ok: true };
    case "correction":
      return storeCorrection(message);
    default:
      return { ok: false, error: "unknown message" };
  }
}

async function onPageMessage(message) {
  switch (message.type) {
    case "checkEndpoint": {
      const endpoint = typeof message.endpoint === "string" ? message.endpoint : "";
      const token = typeof message.token === "string" ? message.token.trim() : "";
      return checkConnection(endpoint, token);
    }
    case "setSitePaused":
      return setSitePaused(message.host, !!message.paused, message.tabId);
    case "endpointStatus": {
      const settings = await loadSettings();
      const h = await endpointHealth(settings);
      return { ok: h.ok, model: h.model, error: h.error, endpoint: settings.endpoint };
    }
    default:
      return { ok: false, error: "unknown message" };
  }
}

/** Which handler may see a message: "page" (Hush's own popup/options), "content" (Hush's own content
 *  script in a web page's tab) or null (anyone else: ignored). */
function route(message, sender) {
  if (!message || typeof message !== "object" || typeof message.type !== "string") return null;
  if (isOwnExtensionPage(sender)) return "page";
  if (isOwnContentScript(sender)) return "content";
  return null;
}

api.runtime.onMessage.addListener((message, sender, sendResponse) => {
  const where = route(message, sender);
  if (!where) return false; // not ours: ignore
  const handler = where === "page" ? onPageMessage : onContentMessage;
  handler(message, sender).then(sendResponse, (err) =>
    sendResponse({ ok: false, error: String((err && err.message) || err) })
  );
  return true; // answer asynchronously
});

// Settings changed: forget the cached endpoint health so that the next page asks again.
api.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && changes.settings) health.checkedAt = 0;
});

// ---------------------------------------------------------------------------------------- context menu
async function createMenus() {
  const patterns = ["http://*/*", "https://*/*"];
  const contexts = ["page", "selection", "link", "image"];
  await api.contextMenus.removeAll();
  api.contextMenus.create({
    id: MENU_HIDE,
    title: "Hush: hide this as an appeal",
    contexts,
    documentUrlPatterns: patterns,
  });
  api.contextMenus.create({
    id: MENU_NOT_APPEAL,
    title: "Hush: not an appeal (on a hidden block)",
    contexts,
    documentUrlPatterns: patterns,
  });
}

async function onMenuClicked(info, tab) {
  if (!tab || typeof tab.id !== "number") return { ok: false };
  const action = info.menuItemId === MENU_HIDE ? "hide" : info.menuItemId === MENU_NOT_APPEAL ? "not-appeal" : "";
  if (!action) return { ok: false };
  try {
    return await api.tabs.sendMessage(
      tab.id,
      { type: "menu", action },
      { frameId: typeof info.frameId === "number" ? info.frameId : 0 }
    );
  } catch (_err) {
    return { ok: false, error: "Hush is not running on this page" };
  }
}

// Firefox for Android has no context menus: there Hush runs without the correction menu.
if (api.contextMenus) {
  api.contextMenus.onClicked.addListener((info, tab) => {
    onMenuClicked(info, tab);
  });
  api.runtime.onInstalled.addListener(createMenus);
  if (api.runtime.onStartup) api.runtime.onStartup.addListener(createMenus);
}

// For tests and debugging from the service worker console only; pages cannot reach this.
globalThis.hushDebug = Object.freeze({ onMenuClicked, setSitePaused, route, checkHealth, checkConnection, classify, health, HIDING_CSS });
