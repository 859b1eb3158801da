/* Hush toolbar popup: appeals collapsed on this tab, "Show all", "Pause on this site". */
"use strict";

(function () {
  const { api } = globalThis.Hush;
  const $ = (id) => document.getElementById(id);
  let tabId = null;
  let info = null;

  async function currentTabId() {
    // ?tab=<id> lets the popup be opened as a normal tab (tests, keyboard users); else the active tab.
    const param = new URLSearchParams(location.search).get("tab");
    if (param && /^\d+$/.test(param)) return Number(param);
    const tabs = await api.tabs.query({ active: true, currentWindow: true });
    return tabs.length ? tabs[0].id : null;
  }

  function ask(message) {
    return Promise.resolve(api.tabs.sendMessage(tabId, message)).then((reply) => reply || null, () => null);
  }

  function describe(stats) {
    const n = stats.collapsed;
    const collapsed = n + (n === 1 ? " appeal" : " appeals") + " collapsed on this tab.";
    switch (stats.state) {
      case "running":
        if (n === 0 && stats.perf && !stats.perf.answeredAt) return "Checking this page…"; // no answer yet
        return n === 0 ? "No appeals collapsed on this tab." : collapsed;
      case "starting":
        return "Checking this page…";
      case "paused":
        return "Hush is paused on " + stats.host + ".";
      case "unreachable":
        return "Hush cannot use its server; this page is left as it was. Start it with \u201chush serve\u201d " +
          "(or fix the endpoint or token in Options), then reload the page.";
      case "skipped":
        return stats.error === "too-big" ? "This page is too large for Hush; it is left as it was." : "Hush does not run on this page.";
      case "error":
        return "Hush could not check this page; it is left as it was.";
      default:
        return collapsed;
    }
  }

  async function refresh() {
    info = tabId === null ? null : await ask({ type: "stats" });
    const count = $("count");
    const problem = $("problem");
    const pause = $("pause");
    const showAll = $("show-all");
    problem.hidden = true;
    if (!info) {
      count.textContent = "Hush does not run on this page (only on http and https pages).";
      pause.disabled = true;
      showAll.disabled = true;
      return;
    }
    count.textContent = describe(info);
    if ((info.state === "unreachable" || info.state === "error") && info.error) {
      problem.textContent = info.error;
      problem.hidden = false;
    }
    showAll.disabled = info.collapsed === 0;
    pause.disabled = !info.host;
    pause.textContent = info.state === "paused" ? "Resume on this site" : "Pause on this site";
  }

  $("show-all").addEventListener("click", async () => {
    await ask({ type: "showAll" });
    await refresh();
  });

  $("pause").addEventListener("click", async () => {
    if (!info || !info.host) return;
    const paused = info.state !== "paused";
    await api.runtime.sendMessage({ type: "setSitePaused", host: info.host, paused, tabId });
    await new Promise((r) => setTimeout(r, 100));
    await refresh();
  });

  $("options").addEventListener("click", (event) => {
    event.preventDefault();
    api.runtime.openOptionsPage();
    if (!new URLSearchParams(location.search).has("tab")) window.close();
  });

  currentTabId().then((id) => {
    tabId = id;
    return refresh();
  });
})();
