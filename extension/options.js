/* Hush options: endpoint and token, connection check, hiding mode, paused sites, corrections export. */
"use strict";

(function () {
  const { api, checkEndpoint, checkToken, siteKey, loadSettings, normaliseSettings } = globalThis.Hush;
  const $ = (id) => document.getElementById(id);

  function say(id, text, good) {
    const el = $(id);
    el.textContent = text;
    el.className = good === undefined ? "" : good ? "ok" : "bad";
  }

  async function readStoredSettings() {
    const stored = await api.storage.local.get("settings");
    return Object.assign({}, stored.settings || {});
  }

  async function writeSettings(patch) {
    const current = await readStoredSettings();
    const next = normaliseSettings(Object.assign(current, patch));
    await api.storage.local.set({ settings: next });
    return next;
  }

  // ------------------------------------------------------------------------------ settings form
  async function fillForm() {
    const s = await loadSettings();
    $("endpoint").value = s.endpoint;
    $("token").value = s.token;
    $(s.mode === "remove" ? "mode-remove" : "mode-placeholder").checked = true;
    renderSites(s.disabledSites);
  }

  $("check").addEventListener("click", async () => {
    const checked = fieldChecked("endpoint", checkEndpoint, "check-result");
    const token = checked && fieldChecked("token", checkToken, "check-result");
    if (!token) return;
    say("check-result", "Checking…");
    const reply = await api.runtime.sendMessage({ type: "checkEndpoint", endpoint: checked.url, token: token.token });
    if (reply && reply.ok) {
      say("check-result", "Connected" + (reply.model ? " · model " + reply.model : "") + ".", true);
    } else {
      const why = ((reply && reply.error) || "no answer").replace(/\.+$/, "");
      say("check-result", "Not connected: " + why + ".", false);
    }
  });

  /** The field's value checked by check(); on a problem, says it in `said`, marks the field and
   * returns null. */
  function fieldChecked(id, check, said) {
    const result = check($(id).value);
    if (!result.ok) {
      say(said, result.error, false);
      $(id).setAttribute("aria-invalid", "true");
      $(id).focus();
      return null;
    }
    $(id).removeAttribute("aria-invalid");
    return result;
  }

  $("settings").addEventListener("submit", async (event) => {
    event.preventDefault();
    const checked = fieldChecked("endpoint", checkEndpoint, "save-result");
    const token = checked && fieldChecked("token", checkToken, "save-result");
    if (!token) return;
    const mode = document.querySelector('input[name="mode"]:checked');
    const saved = await writeSettings({
      endpoint: checked.url,
      token: token.token,
      mode: mode ? mode.value : "placeholder",
    });
    $("endpoint").value = saved.endpoint;
    say("save-result", "Saved. Reload open pages to use the new settings.", true);
  });

  // ------------------------------------------------------------------------------------ sites
  function renderSites(sites) {
    const list = $("sites");
    list.replaceChildren();
    $("sites-empty").hidden = sites.length > 0;
    for (const site of sites) {
      const li = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = site + " ";
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Turn Hush back on";
      button.setAttribute("aria-label", "Turn Hush back on for " + site);
      button.addEventListener("click", async () => {
        const s = await loadSettings();
        const next = await writeSettings({ disabledSites: s.disabledSites.filter((x) => x !== site) });
        renderSites(next.disabledSites);
      });
      li.append(name, button);
      list.append(li);
    }
  }

  /** The site a typed name or address names, as location.hostname gives it (an accented name in its
   * xn-- form), or "" when it names none: empty labels ("foo..com"), spaces, other characters. */
  function siteOf(text) {
    const typed = text.trim();
    let host = "";
    try {
      host = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(typed) ? typed : "http://" + typed).hostname;
    } catch (_err) {
      return "";
    }
    const key = siteKey(host);
    if (/^\[[0-9a-f:.]+\]$/.test(key)) return key;
    return key && key.split(".").every((label) => /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/.test(label)) ? key : "";
  }

  $("add-site").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = siteOf($("site").value);
    if (!key) {
      say("site-result", "Write a site name like example.org.", false);
      return;
    }
    const s = await loadSettings();
    const next = await writeSettings({ disabledSites: Array.from(new Set(s.disabledSites.concat([key]))) });
    $("site").value = "";
    say("site-result", "");
    renderSites(next.disabledSites);
  });

  // ------------------------------------------------------------------------------ corrections
  function fileName(entry, index) {
    let host = "page";
    try {
      host = new URL(entry.url).hostname.replace(/[^a-z0-9.-]/gi, "_") || "page";
    } catch (_err) {
      // keep "page"
    }
    const stamp = (entry.createdAt || "").replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-") || "undated";
    // Named by the correction's own id, not its place in the list (which moves as corrections come and
    // go): an export unzipped over an earlier one replaces its files instead of doubling them.
    const id = String(entry.id || index + 1).replace(/[^a-z0-9]/gi, "");
    return "hush-" + stamp + "-" + id + "-" + host + "-" + entry.kind + ".html";
  }

  function download(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  async function loadCorrections() {
    const stored = await api.storage.local.get("corrections");
    return Array.isArray(stored.corrections) ? stored.corrections : [];
  }

  async function renderCorrections() {
    const list = await loadCorrections();
    $("corrections-count").textContent = list.length === 0
      ? "No corrections yet."
      : list.length + (list.length === 1 ? " correction" : " corrections") + " stored on this computer.";
    $("export").disabled = list.length === 0;
    $("clear").disabled = list.length === 0;
    const ul = $("corrections");
    ul.replaceChildren();
    list.forEach((entry, index) => {
      const li = document.createElement("li");
      const what = document.createElement("span");
      what.textContent = (entry.kind === "not-appeal" ? "Not an appeal" : "Appeal") + " · " + (entry.title || entry.url) + " ";
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = entry.url + " · " + (entry.createdAt || "") + " ";
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Download .html";
      button.addEventListener("click", () => {
        download(new Blob([entry.html], { type: "text/html" }), fileName(entry, index));
      });
      li.append(what, meta, button);
      ul.append(li);
    });
  }

  $("export").addEventListener("click", async () => {
    const list = await loadCorrections();
    if (!list.length) return;
    const files = list.map((entry, index) => ({ name: "hush-corrections/" + fileName(entry, index), text: entry.html }));
    const day = new Date().toISOString().slice(0, 10);
    download(globalThis.HushZip.makeZip(files), "hush-corrections-" + day + ".zip");
  });

  $("clear").addEventListener("click", async () => {
    if (!window.confirm("Delete all stored corrections?")) return;
    await api.storage.local.set({ corrections: [] });
    renderCorrections();
  });

  api.storage.onChanged.addListener((changes, area) => {
    if (area !== "local") return;
    if (changes.corrections) renderCorrections();
    if (changes.settings) renderSites(normaliseSettings(changes.settings.newValue).disabledSites);
  });

  fillForm();
  renderCorrections();
})();
