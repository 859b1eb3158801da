// The labelling page of `hush label`. The page being labelled sits in a sandboxed frame where no script
// runs; this script, in the parent, outlines its blocks, toggles marks on click and saves them.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const frame = $("page");
  // block id -> {id, element, text, score, hide, labellable, reason, marked, wrapper}; a block with no
  // element of its own has the ids of the blocks its wrapper holds (it is labelled through the wrapper).
  const blocks = new Map();
  const shown = new Map(); // block id -> the element showing it in the frame
  const marked = new Set();
  let groups = []; // existing labels: the ids of the blocks each one holds
  let savedKey = "";
  let busy = false;

  function setStatus(text, kind) {
    const el = $("status");
    el.textContent = text;
    el.className = "status" + (kind ? " " + kind : "");
  }

  const marksKey = () => [...marked].sort().join(" ");
  const intact = (group) => group.every((id) => marked.has(id));

  /** A block with no element of its own stays marked only inside an existing label kept whole, or with
   * every block of its wrapper. */
  function settle() {
    let changed = true;
    while (changed) {
      changed = false;
      for (const id of marked) {
        const block = blocks.get(id);
        if (block.labellable) continue;
        const wrapped = block.wrapper.length > 0 && intact(block.wrapper);
        if (!wrapped && !groups.some((group) => group.includes(id) && intact(group))) {
          marked.delete(id);
          changed = true;
        }
      }
    }
  }

  function paint() {
    for (const el of new Set(shown.values())) {
      const ids = el.getAttribute("data-hush-block").split(" ");
      el.setAttribute("data-hush-marked", ids.some((id) => marked.has(id)) ? "1" : "0");
    }
    let hide = 0;
    for (const b of blocks.values()) if (b.hide) hide += 1;
    const dirty = marksKey() !== savedKey;
    $("counts").textContent =
      `${marked.size} marked of ${blocks.size} blocks · the model would hide ${hide}` +
      (dirty ? " · unsaved changes" : "");
    $("save").disabled = busy;
  }

  function describe(ids) {
    const b = blocks.get(ids[0]);
    const score = Math.max(...ids.map((id) => blocks.get(id).score));
    const hide = ids.some((id) => blocks.get(id).hide);
    let text = `score ${score.toFixed(2)}${hide ? " · the model would hide it" : ""}`;
    if (!b.labellable && b.wrapper.length) text += ` · marked with the ${b.wrapper.length} blocks of the box around it`;
    else if (!b.labellable) text += ` · cannot be labelled on its own: ${b.reason}`;
    return text;
  }

  function onClick(event) {
    event.preventDefault();
    event.stopPropagation();
    if (event.button !== 0 || busy) return;
    const target = event.target && event.target.closest ? event.target.closest("[data-hush-block]") : null;
    if (!target) {
      setStatus("no block there");
      return;
    }
    const ids = target.getAttribute("data-hush-block").split(" ");
    const block = blocks.get(ids[0]);
    if (!block) return;
    if (!block.labellable) {
      const on = ids.filter((id) => marked.has(id));
      if (!on.length && block.wrapper.length) {
        for (const id of block.wrapper) marked.add(id); // the box around it, labelled whole
      } else if (!on.length) {
        setStatus(`This block cannot be labelled on its own: ${block.reason}.`, "error");
        return;
      }
      for (const id of on) marked.delete(id);
    } else if (marked.has(block.id)) {
      marked.delete(block.id);
    } else {
      marked.add(block.id);
    }
    settle();
    setStatus("");
    paint();
  }

  function onHover(event) {
    const target = event.target && event.target.closest ? event.target.closest("[data-hush-block]") : null;
    if (!target) {
      $("hover").textContent = "";
      return;
    }
    const ids = target.getAttribute("data-hush-block").split(" ");
    const text = ids.map((id) => blocks.get(id).text).join(" … ");
    $("hover").textContent = `${describe(ids)} · “${text.slice(0, 140)}”`;
  }

  const stop = (event) => {
    event.preventDefault();
    event.stopPropagation();
  };

  async function save() {
    busy = true;
    paint();
    setStatus("saving…");
    try {
      const response = await fetch("save", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ marked: [...marked] }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.error ? body.error.message : `HTTP ${response.status}`);
      savedKey = marksKey();
      setStatus(`saved to ${body.saved}`, "ok");
    } catch (err) {
      setStatus(`not saved: ${err.message}`, "error");
    } finally {
      busy = false;
      paint();
    }
  }

  function frameReady() {
    return new Promise((resolve) => {
      const doc = frame.contentDocument;
      if (doc && doc.readyState === "complete" && doc.URL !== "about:blank") resolve(doc);
      else frame.addEventListener("load", () => resolve(frame.contentDocument), { once: true });
    });
  }

  async function start() {
    let state;
    try {
      const response = await fetch("state");
      state = await response.json();
      if (!response.ok) throw new Error(state.error ? state.error.message : `HTTP ${response.status}`);
    } catch (err) {
      setStatus(`cannot load the page: ${err.message}`, "error");
      return;
    }
    const doc = await frameReady();
    for (const b of state.blocks) {
      blocks.set(b.id, b);
      if (b.marked) marked.add(b.id);
    }
    groups = state.groups;
    for (const el of doc.querySelectorAll("[data-hush-block]")) {
      const ids = el.getAttribute("data-hush-block").split(" ");
      if (!ids.every((id) => blocks.has(id))) continue;
      for (const id of ids) shown.set(id, el);
      el.setAttribute("title", describe(ids));
    }
    if (state.correction_element) {
      const el = doc.querySelector(`[data-hush-id="${CSS.escape(state.correction_element)}"]`);
      if (el) el.setAttribute("data-hush-correction", "not-appeal");
    }
    for (const type of ["submit", "auxclick", "dragstart", "dblclick"]) doc.addEventListener(type, stop, true);
    doc.addEventListener("click", onClick, true);
    doc.addEventListener("mouseover", onHover, true);
    savedKey = marksKey();
    $("name").textContent = `${state.page} → ${state.out}`;
    const notes = [];
    if (state.source) notes.push(`from ${state.source}`);
    if (state.correction === "no-appeal") notes.push("saved before with no appeal marked");
    else if (state.correction) notes.push(`correction ${state.correction} (green outline)`);
    $("notes").textContent = notes.join(" · ");
    $("save").addEventListener("click", save);
    window.addEventListener("beforeunload", (event) => {
      if (marksKey() !== savedKey) event.preventDefault();
    });
    document.body.setAttribute("data-ready", "1");
    paint();
  }

  start();
})();
