/* Hush: constants and checks shared by the service worker, the content script and the extension pages.
 * Plain script (no modules) so that it loads the same way everywhere: as a content script file, through
 * importScripts() in Chromium's service worker, in Firefox's background.scripts list, and by a <script> tag.
 */
"use strict";

(function (root) {
  const api = root.browser && root.browser.runtime ? root.browser : root.chrome;

  // Ids stamped by the content script: base-36 counters, so lowercase letters and digits only.
  const ID_RE = /^[0-9a-z]{1,10}$/;
  const MAX_HIDE = 5000;

  const DEFAULT_ENDPOINT = "http://127.0.0.1:8787";
  const DEFAULTS = Object.freeze({
    endpoint: DEFAULT_ENDPOINT,
    token: "",
    mode: "placeholder", // or "remove"
    disabledSites: [],
  });

  // Loopback hosts that may be reached over plain http. The extension's content_security_policy allows
  // connect-src to exactly these for http, and https everywhere else. Not [::1]: Chromium reads
  // "http://[::1]:*" in a policy as an invalid source and drops it, so such an endpoint never answers.
  const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost"]);

  /** Check an endpoint URL typed by the reader. Returns {ok, url} (normalised, no trailing slash)
   *  or {ok: false, error} with a sentence to show. */
  function checkEndpoint(text) {
    const raw = String(text == null ? "" : text).trim();
    if (!raw) return { ok: false, error: "Enter the endpoint URL, e.g. " + DEFAULT_ENDPOINT + "." };
    let url;
    try {
      url = new URL(raw);
    } catch (_err) {
      return { ok: false, error: "This is not a URL. Write it like " + DEFAULT_ENDPOINT + "." };
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return { ok: false, error: "The endpoint must start with https:// (or http:// on this computer)." };
    }
    if (url.username || url.password) {
      return { ok: false, error: "Put the token in the token field, not in the URL." };
    }
    if (url.search || url.hash) {
      return { ok: false, error: "The endpoint URL cannot have a query (?) or fragment (#)." };
    }
    const loopback = LOOPBACK_HOSTS.has(url.hostname);
    if (url.hostname === "[::1]") {
      return { ok: false, error: "Use http://localhost or http://127.0.0.1 for a server on this computer, not [::1]." };
    }
    if (url.protocol === "http:" && !loopback) {
      return {
        ok: false,
        error:
          "A server on another machine must use https://. Plain http:// is allowed only for " +
          "127.0.0.1 and localhost.",
      };
    }
    const path = url.pathname.replace(/\/+$/, "");
    return { ok: true, url: url.origin + path, loopback };
  }

  /** Check a token typed by the reader: empty (none), or printable ASCII without spaces, as `hush serve`
   *  takes it (a header carries bytes; fetch refuses other characters). Returns {ok, token} or {ok, error}. */
  function checkToken(text) {
    const token = String(text == null ? "" : text).trim();
    if (token && !/^[\x21-\x7e]+$/.test(token)) {
      return { ok: false, error: "A token is made of letters, digits and punctuation, with no spaces or accents." };
    }
    return { ok: true, token };
  }

  function isLoopbackEndpoint(endpoint) {
    const checked = checkEndpoint(endpoint);
    return checked.ok && checked.loopback;
  }

  /** Normalise a host name the way the site list stores it. */
  function siteKey(hostname) {
    return String(hostname || "")
      .trim()
      .toLowerCase()
      .replace(/^www\./, "")
      .replace(/\.$/, "");
  }

  function isSiteDisabled(disabledSites, hostname) {
    const key = siteKey(hostname);
    if (!key || !Array.isArray(disabledSites)) return false;
    return disabledSites.some((site) => {
      const s = siteKey(site);
      return s && (key === s || key.endsWith("." + s));
    });
  }

  /** Settings from storage with defaults filled in and bad values replaced. */
  function normaliseSettings(stored) {
    const s = Object.assign({}, DEFAULTS, stored || {});
    return {
      endpoint: typeof s.endpoint === "string" ? s.endpoint : DEFAULT_ENDPOINT,
      token: typeof s.token === "string" ? s.token.trim() : "",
      mode: s.mode === "remove" ? "remove" : "placeholder",
      disabledSites: Array.isArray(s.disabledSites)
        ? s.disabledSites.filter((x) => typeof x === "string" && x).map(siteKey)
        : [],
    };
  }

  async function loadSettings() {
    const stored = await api.storage.local.get("settings");
    return normaliseSettings(stored && stored.settings);
  }

  /** The endpoint's answer to /v1/classify, checked before anything touches a page: `hide` must be an
   *  array of at most MAX_HIDE strings in the id alphabet. Returns the ids (deduplicated) or throws. */
  function checkAnswer(data) {
    if (!data || typeof data !== "object" || Array.isArray(data)) {
      throw new Error("the answer is not a JSON object");
    }
    const hide = data.hide;
    if (!Array.isArray(hide)) throw new Error("the answer has no 'hide' list");
    if (hide.length > MAX_HIDE) throw new Error("the answer lists too many ids");
    const seen = new Set();
    for (const id of hide) {
      if (typeof id !== "string" || !ID_RE.test(id)) throw new Error("the answer has an id that is not a Hush id");
      seen.add(id);
    }
    return Array.from(seen);
  }

  root.Hush = Object.freeze({
    api,
    ID_RE,
    MAX_HIDE,
    DEFAULT_ENDPOINT,
    DEFAULTS,
    LOOPBACK_HOSTS,
    checkEndpoint,
    checkToken,
    isLoopbackEndpoint,
    siteKey,
    isSiteDisabled,
    normaliseSettings,
    loadSettings,
    checkAnswer,
  });
})(globalThis);
