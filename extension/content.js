/* Hush content script.
 *
 * 1. Asks the service worker whether to run here (site not paused, endpoint reachable).
 * 2. Walks the body in slices of a few milliseconds, giving block elements ids (kept in this script's
 *    maps, and written as data-hush-id only into the copy it sends and onto elements it collapses) and
 *    writing a compact copy of the page (lib/compact.js: no script/style/svg/noscript/template, no
 *    comments, no inline styles, only the attributes the classifier uses), and hands it to the service
 *    worker.
 * 3. Collapses the elements whose ids come back, after checking that each id is one it stamped and sent.
 * 4. Watches for subtrees added later and sends each new one as a fragment.
 * The page's scripts never see any of this: no globals, no window messages, nothing read from the page
 * but its DOM.
 */
"use strict";

(function () {
  if (globalThis.__hushContent) return; // injected twice (e.g. extension reloaded)
  globalThis.__hushContent = true;

  const { api, ID_RE } = globalThis.Hush;
  const { DROP, NO_STAMP, escapeText, escapeAttr, serializer } = globalThis.HushCompact;
  const EXTENSION_ORIGIN = api.runtime.getURL("");
  const HTML_NS = "http://www.w3.org/1999/xhtml";

  // ----------------------------------------------------------------------------------------- limits
  const SLICE_MS = 6; // longest run of DOM work before yielding to the page
  const MAX_ELEMENTS = 100000; // pages with more elements (than the serialiser walks) are skipped
  const MAX_PAYLOAD_CHARS = 3 * 1024 * 1024; // compact copies larger than this are not sent
  const MAX_FRAGMENT_CHARS = 512 * 1024;
  const FRAGMENT_DEBOUNCE_MS = 200; // wait for a burst of insertions to settle ...
  const FRAGMENT_MAX_WAIT_MS = 800; // ... but not longer than this
  const MAX_ROOTS_PER_BATCH = 400; // new subtrees serialised per flush; siblings go in one request
  const MAX_QUEUE = 4000; // nodes noted; past it, their parents are noted instead (see overflowed)
  const MIN_FRAGMENT_TEXT = 12;
  const FRAGMENT_CONCURRENCY = 3;

  // Boxes by nature: a reader's "hide this" climbs up to one of them and no further.
  const BOXES = new Set(["aside", "section", "dialog", "form", "figure", "nav", "header", "footer", "table"]);
  // Containers that a reader's "hide this" never climbs past.
  const CLIMB_STOP = new Set(["body", "html", "main", "article"]);

  // ------------------------------------------------------------------------------------------ state
  let state = "idle"; // idle | starting | running | paused | unreachable | skipped | error | stopped
  let stateError = "";
  let mode = "placeholder";
  let counter = 0;
  let generation = 0; // bumps on stop, so that slow work started earlier is dropped
  const idToEl = new Map();
  let elToId = new WeakMap();
  const hidden = new Map(); // element -> {id, placeholder, inlineFallback, group}
  const revealed = new WeakSet(); // blocks the reader chose to show; never hidden again on this page
  // Those of them shown to be read (Show, Show all), which a correction still stores as appeals, and
  // those the reader said were not appeals.
  const shownToRead = new Set();
  const notAppeal = new WeakSet();
  // Their text -> their parent: a copy the page draws again there (or anywhere, once that parent is gone
  // with the rest of a redrawn layout) stays shown.
  const revealedTexts = new Map();
  let revealedAt = ""; // where they were shown (#fragment aside): a single-page app's next view forgets them
  let cssReady = null; // promise of {ok}
  let observer = null;
  let queue = [];
  let overflowed = new Set(); // parents of nodes added while the queue was full
  let flushTimer = 0;
  let firstQueuedAt = 0;
  let flushing = false;
  let initialDone = false;
  let removedSinceSent = false; // a node left the page after the whole page began to be serialised
  let lastContextTarget = null;
  let view = ""; // this view of the page (set at each start): a later correction on it replaces an earlier one
  let everHidden = false; // once true, the page may hold copies of collapsed blocks (see dropCopiedMarks)
  // busyMs: time in the sliced DOM work; otherMs: the script's other synchronous work, split by kind in
  // otherByKind (sending, joining the copy, collapsing, noting mutations). Together: its own main-thread time.
  const perf = { busyMs: 0, maxSliceMs: 0, slices: 0, otherMs: 0, otherByKind: {}, elements: 0, stamped: 0,
    payloadChars: 0, fragmentsSent: 0, fragmentsSkipped: 0, fragmentChars: 0, pageSentAt: 0, answeredAt: 0, readAgain: 0 };

  /** fn(), its time counted in perf.otherMs and under `kind` in perf.otherByKind. */
  function accounted(kind, fn) {
    const start = performance.now();
    try {
      return fn();
    } finally {
      const took = performance.now() - start;
      perf.otherMs += took;
      perf.otherByKind[kind] = (perf.otherByKind[kind] || 0) + took;
    }
  }

  // -------------------------------------------------------------------------------------- messaging
  /** A message to the service worker; resolves to its reply, or null when there is none. */
  function send(message) {
    try {
      const sent = accounted("send", () => api.runtime.sendMessage(message)); // the copy is serialised here
      return Promise.resolve(sent).then((reply) => reply || null, () => null);
    } catch (_err) {
      return Promise.resolve(null); // extension reloaded or removed
    }
  }

  function fromExtension(sender) {
    return !!sender && sender.id === api.runtime.id &&
      (typeof sender.url !== "string" || sender.url.startsWith(EXTENSION_ORIGIN));
  }

  // ----------------------------------------------------------------------------------- time slicing
  const channel = new MessageChannel();
  const waiting = [];
  channel.port1.onmessage = () => {
    const resolve = waiting.shift();
    if (resolve) resolve();
  };
  /** Yield to the page's own tasks (a new task, not throttled like nested timers). */
  function yieldToPage() {
    return new Promise((resolve) => {
      waiting.push(resolve);
      channel.port2.postMessage(null);
    });
  }

  /** Run step(deadline) until it returns true, each slice at most SLICE_MS, yielding in between. */
  async function runSliced(step, gen, whole = false) {
    for (;;) {
      const start = performance.now();
      const done = step(whole ? Infinity : start + SLICE_MS);
      const took = performance.now() - start;
      perf.busyMs += took;
      perf.slices += 1;
      if (took > perf.maxSliceMs) perf.maxSliceMs = took;
      if (done) return true;
      await yieldToPage();
      if (gen !== generation) return false;
    }
  }

  // ------------------------------------------------------------------------ ids and serialising
  /** The element's id, given now if it has none. Ids live in this script's maps, not in the page: writing
   * thousands of attributes into the live DOM costs the page style invalidation and its own observers'
   * work (on the 1 MB benchmark page, 12 ms of our time and some 140 ms of the page's). */
  function stampOf(el) {
    let id = elToId.get(el);
    if (id !== undefined) return id;
    counter += 1;
    id = counter.toString(36);
    elToId.set(el, id);
    idToEl.set(id, el);
    perf.stamped += 1;
    return id;
  }

  function docTitle() {
    return (document.title || "").replace(/\s+/g, " ").trim().slice(0, 300);
  }

  function docLang() {
    return (document.documentElement.getAttribute("lang") || "").trim().slice(0, 35);
  }

  function pageUrl() {
    return location.origin + location.pathname; // no query string or fragment: they may hold secrets
  }

  /** Serialise root (sliced), or null if stopped meanwhile. A page that moves the nodes being read between
   * two slices cuts the copy short (lib/compact.js: what follows would be lost, a correction stored
   * without its label): it is then read again in one go, which nothing can interrupt. */
  async function serialiseWhole(root, opts, gen) {
    let ser = serializer(root, opts, elToId, stampOf);
    if (!(await runSliced(ser.step, gen))) return null;
    if (ser.aborted) {
      perf.readAgain += 1;
      ser = serializer(root, opts, elToId, stampOf);
      if (!(await runSliced(ser.step, gen, true))) return null;
    }
    return ser;
  }

  /** The whole document as a compact HTML string (sliced). Returns null if stopped meanwhile. */
  async function serialiseDocument(opts, gen) {
    const ser = await serialiseWhole(document.body, Object.assign({ skipRoot: true, maxChars: MAX_PAYLOAD_CHARS }, opts), gen);
    if (!ser) return null;
    const lang = docLang();
    const head = ['<!DOCTYPE html><html', lang ? ' lang="' + escapeAttr(lang) + '"' : "", "><head>",
      '<meta charset="utf-8">', "<title>", escapeText(docTitle()), "</title>"];
    for (const meta of opts.meta || []) {
      head.push('<meta name="' + escapeAttr(meta[0]) + '" content="' + escapeAttr(meta[1]) + '">');
    }
    head.push("</head><body>");
    const html = accounted("join", () => head.join("") + ser.out.join("") + "</body></html>");
    return { html, ids: ser.ids, tooBig: ser.tooBig, elements: ser.elements, visibleChars: ser.visibleChars };
  }

  // ------------------------------------------------------------------------------------- collapsing
  function ensureCss() {
    if (!cssReady) cssReady = send({ type: "css" }).then((r) => !!(r && r.ok));
    return cssReady;
  }

  /** Whether the page itself shows el (it may keep it hidden: a modal not opened yet, a `hidden` box). */
  function shownByPage(el) {
    try {
      return getComputedStyle(el).display !== "none";
    } catch (_err) {
      return true;
    }
  }

  function isInline(el) {
    try {
      const d = getComputedStyle(el).display;
      return d === "inline" || d === "inline-block" || d === "inline-flex" || d === "contents";
    } catch (_err) {
      return false;
    }
  }

  function styleAll(el, props) {
    for (const key of Object.keys(props)) el.style.setProperty(key, props[key], "important");
  }

  /** The slim placeholder: "Appeal hidden · Show", in a shadow root so the page's CSS stays out. */
  function makePlaceholder(el, id, inline) {
    const tag = el.localName;
    const host = document.createElement("hush-placeholder");
    host.setAttribute("data-hush-for", id);
    if (inline) host.setAttribute("data-hush-inline", "");
    const shadow = host.attachShadow({ mode: "open" });
    const bar = document.createElement("div");
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", "Hidden by Hush");
    styleAll(bar, {
      display: "flex", "align-items": "center", gap: "6px", "flex-wrap": "wrap",
      font: "13px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
      color: "#4a4f57", background: "#f4f5f7", border: "1px dashed #b8bcc4", "border-radius": "4px",
      padding: "2px 8px", margin: "0", "text-align": "start", "letter-spacing": "normal",
      "text-transform": "none", "min-height": "0", "max-width": "100%", "box-sizing": "border-box",
    });
    const label = document.createElement("span");
    label.textContent = "Appeal hidden ·";
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Show";
    button.setAttribute("aria-label", "Show the hidden appeal");
    styleAll(button, {
      font: "inherit", color: "#1a5fb4", background: "transparent", border: "0", padding: "0 2px",
      margin: "0", cursor: "pointer", "text-decoration": "underline", "min-height": "0", "min-width": "0",
      "box-shadow": "none", width: "auto", height: "auto", "line-height": "inherit",
    });
    button.addEventListener("click", (event) => {
      event.preventDefault();
      event.stopPropagation();
      reveal(el, true);
    });
    bar.append(label, button);
    shadow.append(bar);
    // Keep the surrounding structure valid: a list item stays a list item, a table row a row.
    let outer = host;
    if (tag === "li") {
      outer = document.createElement("li");
      outer.append(host);
    } else if (tag === "tr") {
      outer = document.createElement("tr");
      const cell = document.createElement("td");
      cell.colSpan = 1000;
      cell.append(host);
      outer.append(cell);
    } else if (tag === "td" || tag === "th") {
      outer = document.createElement(tag);
      outer.append(host);
    } else if (tag === "dt" || tag === "dd") {
      outer = document.createElement(tag);
      outer.append(host);
    }
    if (outer !== host) outer.setAttribute("data-hush-placeholder-wrap", "");
    return outer;
  }

  /** The collapsed block that is or holds el, or null. */
  function hiddenOwner(el) {
    for (let p = el; p; p = p.parentElement) if (hidden.has(p)) return p;
    return null;
  }

  function isInsideHidden(el) {
    return hiddenOwner(el) !== null;
  }

  /** Whether el may have one more go of something it gets at most `max` of (counted in `counts`). */
  function spend(counts, el, max) {
    const times = counts.get(el) || 0;
    if (times >= max) return false;
    counts.set(el, times + 1);
    return true;
  }

  const DROP_SELECTOR = Array.from(DROP).join(", ");

  function squashedLength(text) {
    return (text || "").replace(/\s+/g, "").length;
  }

  /** Characters of el's text as it is sent: not counting what the serialiser leaves out (a widget's own
   * <style> or <script> would make a box look like most of the page). */
  function textLength(el) {
    let n = squashedLength(el.textContent);
    if (!n) return 0;
    for (const x of el.querySelectorAll(DROP_SELECTOR)) {
      const outer = x.parentElement && x.parentElement.closest(DROP_SELECTOR);
      if (!outer || !el.contains(outer)) n -= squashedLength(x.textContent);
    }
    return n;
  }

  /** The endpoint may be wrong or hostile: never hide the document itself or what holds most of it.
   * bodyText() gives the body's text length; it is only asked for blocks of more than 120 characters,
   * the least that can be 60 % of a body of 200 (counting a large page's text costs milliseconds). */
  function safeToHide(el, bodyText) {
    const tag = el.localName;
    if (el === document.body || el === document.documentElement || tag === "head") return false;
    if (el.contains(document.body)) return false;
    if (el.closest("hush-placeholder, [data-hush-placeholder-wrap]")) return false;
    if (tag === "main" || el.getAttribute("role") === "main" || el.querySelector("main, [role=main]")) return false;
    const length = textLength(el);
    if (length > 120 && bodyText() >= 200 && length > bodyText() * 0.6) return false;
    return true;
  }

  /** Hide el behind a placeholder (or remove it from view); `inline`: whether el is laid out inline, read
   * by the caller before any collapse changes the page (reads first, then writes: one style pass).
   * `joinTo`: the entry of the block collapsed just before el in the same answer, when the two stand side
   * by side; el then joins its group, one placeholder for the lot (an appeal of plain paragraphs is one
   * appeal, not eight). That block is el's sibling, so the unfolding below never shows it again. */
  function collapse(el, id, inline, joinTo) {
    if (hidden.has(el) || revealed.has(el) || isInsideHidden(el)) return null;
    // A block that contains already hidden ones: unfold those first, the outer one covers them.
    for (const [inner] of Array.from(hidden)) if (el.contains(inner)) unhide(inner);
    const entry = { id, inline, placeholder: null, inlineFallback: false, group: joinTo ? joinTo.group : [] };
    entry.group.push(el);
    everHidden = true;
    if (mode === "placeholder" && !joinTo) {
      entry.placeholder = makePlaceholder(el, id, inline);
      el.before(entry.placeholder);
    }
    el.setAttribute("data-hush-id", id); // the placeholder's data-hush-for names it
    el.setAttribute("data-hush-hidden", mode);
    entry.modals = closeModals(el);
    cssReady.then((ok) => {
      if (!ok && hidden.get(el) === entry) {
        // The user style sheet could not be injected: fall back to an inline style.
        entry.inlineFallback = true;
        entry.oldDisplay = [el.style.getPropertyValue("display"), el.style.getPropertyPriority("display")];
        el.style.setProperty("display", "none", "important");
      }
    });
    hidden.set(el, entry);
    const key = words(el.textContent);
    if (key && el.parentElement) {
      if (!hiddenTexts.has(el.parentElement)) hiddenTexts.set(el.parentElement, new Set());
      hiddenTexts.get(el.parentElement).add(key);
    }
    return entry;
  }

  // A block the page draws again in its place (a fund drive's countdown redrawing itself every second
  // with replaceWith, a framework redrawing a widget) is collapsed at once, not sent, when its words
  // (digits aside) are those of a block collapsed in the same parent: it showed until its fragment's
  // answer came back, every time, and the page below it jumped.
  const hiddenTexts = new Map(); // parent -> the words of blocks collapsed in it

  function collapseCopy(el) {
    const keys = hiddenTexts.get(el.parentElement);
    if (!keys || !keys.has(words(el.textContent))) return false;
    if (!safeToHide(el, () => textLength(document.body))) return false;
    unhideRemoved(); // the block it stands for, if gone: its bar goes first
    const entry = collapse(el, stampOf(el), isInline(el), null);
    if (entry) reportCount();
    return !!entry;
  }

  /** Close the modal dialogs el is or holds: hidden, a modal dialog would still leave the rest of the page
   * inert (nothing to click, not even the placeholder). Returns them, to open again if the reader asks. */
  function closeModals(el) {
    const found = [];
    for (const d of el.localName === "dialog" ? [el] : el.querySelectorAll("dialog[open]")) {
      try {
        if (d.open && d.matches(":modal")) {
          d.close();
          found.push(d);
        }
      } catch (_err) {
        // :modal unknown to an older browser: leave it
      }
    }
    return found;
  }

  // A page that lays an appeal over itself mostly dims the rest behind an empty layer (a backdrop) and
  // stops its own scrolling (overflow: hidden on <html> or <body>), and undoes both only when the reader
  // closes the overlay, which Hush has hidden: the page would be left dark and frozen. So once an overlay
  // is collapsed, its backdrop goes and a scroll lock with nothing else over the page is released; Show
  // puts both back.
  const RELEASE_AGAIN_MS = 1000; // the page may lock its scrolling only after its overlay came in
  const CONTROLS = "img, video, iframe, canvas, svg, input, button, select, textarea, object, embed";

  /** Whether el is laid over the page: fixed in the viewport, itself or its first child (a wrapper). */
  function isOverlay(el) {
    for (const x of [el, el.firstElementChild]) {
      if (x && getComputedStyle(x).position === "fixed") return true;
    }
    return false;
  }

  /** The fixed elements at the viewport's centre, innermost first, that cover at least `share` of it. */
  function fixedCovers(share) {
    const found = [];
    const area = innerWidth * innerHeight;
    for (let el = document.elementFromPoint(innerWidth / 2, innerHeight / 2); el; el = el.parentElement) {
      if (el === document.body || el === document.documentElement) break;
      if (getComputedStyle(el).position !== "fixed") continue;
      const r = el.getBoundingClientRect();
      if (r.width * r.height >= area * share) found.push(el);
    }
    return found;
  }

  /** Empty layers over the whole viewport, on top of everything at five points of it: backdrops. */
  function backdrops() {
    const w = innerWidth;
    const h = innerHeight;
    const points = [[w / 2, h / 2], [w / 2, h / 4], [w / 2, (3 * h) / 4], [w / 4, h / 2], [(3 * w) / 4, h / 2]];
    return fixedCovers(0.9).filter((el) => !/\S/.test(el.textContent) && !el.querySelector(CONTROLS) &&
      points.every(([x, y]) => el.contains(document.elementFromPoint(x, y))));
  }

  // Per collapsed overlay, what its release changed: [[element, property, old value, old priority]].
  const released = new Map();

  /** Set el's property inline and !important, noting in changes what it was. */
  function release(changes, el, property, value) {
    const style = el.style;
    changes.push([el, property, style.getPropertyValue(property), style.getPropertyPriority(property)]);
    style.setProperty(property, value, "important");
  }

  /** After owner, an overlay, was collapsed: hide the backdrops left over the page, then let the page
   * scroll if its <html> or <body> stops it and nothing fixed still covers half the viewport. Only the
   * vertical overflow is touched, inline and !important. */
  function releaseOverlay(owner) {
    if (state !== "running" || !hidden.has(owner)) return;
    const changes = released.get(owner) || [];
    const setReleased = (el, property, value) => release(changes, el, property, value);
    for (const el of backdrops()) setReleased(el, "display", "none");
    const root = document.documentElement;
    const body = document.body;
    const bodyStyle = getComputedStyle(body);
    // The other lock (phones' browsers ignore overflow on <body>): <body> fixed in place, moved up by
    // the distance scrolled (top: -Ypx). Released, <body> flows again and the window scrolls to where
    // the reader was.
    if (bodyStyle.position === "fixed" && body.scrollHeight > innerHeight && !fixedCovers(0.5).length) {
      const scrolled = -parseFloat(bodyStyle.top) || 0;
      setReleased(body, "position", "static");
      setReleased(body, "top", "auto");
      window.scrollTo(0, scrolled);
    }
    // A page no taller than the window scrolls inside (an app), if at all: its lock is its layout. Text
    // cut off inside <body> (<html> and <body> made the window's height and clipped) is a page's lock.
    if (Math.max(root.scrollHeight, body.scrollHeight) > innerHeight && !fixedCovers(0.5).length) {
      const rootStyle = getComputedStyle(root);
      const bodyClipsItself = rootStyle.overflowX !== "visible" || rootStyle.overflowY !== "visible";
      for (const el of [root, body]) {
        const style = getComputedStyle(el);
        if (!/^(hidden|clip)$/.test(style.overflowY)) continue;
        // <html>'s overflow goes to the viewport; <body>'s too when <html>'s is visible, else it clips itself.
        setReleased(el, "overflow-y", el === root ? "auto" : "visible");
        // Clipping itself, <body> with one side let go would scroll inside, not the window: both let go
        // (<html> still clips the sides).
        if (el === body && bodyClipsItself && /^(hidden|clip)$/.test(style.overflowX)) {
          setReleased(body, "overflow-x", "visible");
        }
      }
    }
    if (changes.length) released.set(owner, changes);
  }

  // A block may be in the page, not shown by it, from the start (a modal not opened yet, a `hidden` box),
  // and be shown by the page only later. Its bar stays out of sight until then (it would stand for
  // nothing the reader could see), and an overlay's backdrop and scroll lock come only then. While such a
  // block or an overlay is collapsed, a change of class or style on it, on an element around it (a
  // modal's wrapper, or an app's root, given a class), <html> or <body> has both looked at again.
  const WATCHED = { attributes: true, attributeFilter: ["class", "style", "hidden", "open"] };
  let showingWatch = null;
  let showingTimer = 0;
  let releaseAgainTimer = 0;
  const watched = new Set();

  function lookAgainSoon() {
    clearTimeout(showingTimer);
    showingTimer = setTimeout(lookAgain, 50);
  }

  function watchShowing(el) {
    if (!showingWatch) {
      showingWatch = new MutationObserver(lookAgainSoon);
      for (const x of [document.documentElement, document.body]) showingWatch.observe(x, WATCHED);
      // A popover opened by the page (showPopover) changes no attribute; its toggle event does not bubble.
      document.addEventListener("toggle", lookAgainSoon, true);
    }
    if (!watched.has(el)) {
      for (let x = el; x && x !== document.body && x !== document.documentElement; x = x.parentElement) {
        showingWatch.observe(x, WATCHED); // observing an element twice keeps one registration
      }
    }
    watched.add(el);
  }

  /** Collapsed, el is not shown by the page: its bar is kept out of sight until the page shows it. */
  function keepBarUnseen(el, entry) {
    if (!entry.placeholder) return;
    entry.unseen = true;
    entry.placeholder.setAttribute("data-hush-unseen", ""); // hidden by the user style sheet
    entry.placeholder.style.setProperty("display", "none", "important"); // and without it
    watchShowing(el);
  }

  function showBar(entry) {
    entry.unseen = false;
    entry.placeholder.removeAttribute("data-hush-unseen");
    entry.placeholder.style.removeProperty("display");
    reportCount();
  }

  /** Whether the page would show el, collapsed: asked with Hush's mark off for the moment (no frame is
   * drawn in between). */
  function pageWouldShow(el) {
    el.removeAttribute("data-hush-hidden");
    const shown = shownByPage(el);
    el.setAttribute("data-hush-hidden", mode);
    return shown;
  }

  function lookAgain() {
    for (const el of Array.from(watched)) {
      const entry = hidden.get(el);
      if (!entry) {
        watched.delete(el); // shown or gone (its observation ends with the observer)
        continue;
      }
      if (entry.unseen && !entry.inlineFallback && pageWouldShow(el)) showBar(entry);
      if (entry.overlay) releaseOverlay(el);
    }
    releaseAgainSoon();
  }

  /** A second from now, release the collapsed overlays again (the page may lock its scrolling late). */
  function releaseAgainSoon() {
    clearTimeout(releaseAgainTimer);
    releaseAgainTimer = setTimeout(() => {
      for (const el of watched) if (hidden.has(el) && hidden.get(el).overlay) releaseOverlay(el);
    }, RELEASE_AGAIN_MS);
  }

  /** Put back what was released when el was collapsed. */
  function restoreOverlay(el) {
    const changes = released.get(el);
    if (!changes) return;
    released.delete(el);
    for (const [x, property, value, priority] of changes.reverse()) {
      x.style.removeProperty(property);
      if (value) x.style.setProperty(property, value, priority);
    }
  }

  /** Whether b comes right after a in the page: element siblings with nothing visible between them. */
  function sideBySide(a, b) {
    if (!a || a.nextElementSibling !== b) return false;
    for (let n = a.nextSibling; n !== b; n = n.nextSibling) {
      if (n.nodeType === 3 && /\S/.test(n.data)) return false;
    }
    return true;
  }

  /** Show el again, and the blocks of its group with it (they share one placeholder). */
  function unhide(el) {
    const entry = hidden.get(el);
    if (!entry) return;
    for (const member of entry.group) {
      const own = hidden.get(member);
      if (!own || own.group !== entry.group) continue;
      hidden.delete(member);
      restoreOverlay(member);
      if (own.placeholder) own.placeholder.remove();
      member.removeAttribute("data-hush-hidden");
      if (own.inlineFallback) {
        member.style.removeProperty("display");
        if (own.oldDisplay[0]) member.style.setProperty("display", own.oldDisplay[0], own.oldDisplay[1]);
      }
      for (const d of own.modals || []) {
        try {
          if (d.isConnected && !d.open) d.showModal();
        } catch (_err) {
          // the page changed it meanwhile
        }
      }
    }
  }

  function squashed(text) {
    return (text || "").replace(/\s+/g, " ").trim();
  }

  /** A text's words, digits aside (a countdown's copies have the same), spaces squashed. */
  function words(text) {
    return squashed((text || "").replace(/\d+/g, "0"));
  }

  /** A block's text, spaces squashed: what a copy of it made by the page has too. */
  function textKey(el) {
    return squashed(el.textContent);
  }

  /** Never hide el again on this page, nor a copy of it. */
  function keepShown(el) {
    revealed.add(el);
    if (el.parentElement && hiddenTexts.has(el.parentElement)) {
      hiddenTexts.get(el.parentElement).delete(words(el.textContent));
    }
    const key = textKey(el);
    if (key && el.parentElement) revealedTexts.set(key, el.parentElement);
    revealedAt = address();
  }

  /** The page's address but for its #fragment, which an in-page link changes. */
  function address() {
    return location.href.split("#")[0];
  }

  const TEXT_FIELDS = "textarea, input:not([type]), input[type=text], input[type=email], input[type=search], " +
    "input[type=tel], input[type=url], input[type=number], input[type=password]";

  /** Whether the reader is typing in el: its focused field holds words the page did not put there. Such a
   * block is left in view (collapsed, it took the focus and the rest of the typing with it). */
  function typingIn(el) {
    const field = document.activeElement;
    if (!field || field === document.body || !el.contains(field)) return false;
    if (field.isContentEditable) return /\S/.test(field.textContent);
    return field.matches(TEXT_FIELDS) && field.value !== field.defaultValue;
  }

  /** Whether el copies a block the reader showed, drawn again where it was: then it is kept shown. */
  function drawnAgain(el) {
    if (!revealedTexts.size) return false;
    const key = textKey(el);
    const parent = revealedTexts.get(key);
    if (!parent || !el.parentElement) return false;
    if (parent !== el.parentElement && parent.isConnected) return false;
    revealedTexts.set(key, el.parentElement);
    return true;
  }

  function reveal(el, focus) {
    const entry = hidden.get(el);
    unhide(el);
    for (const member of entry ? entry.group : [el]) {
      keepShown(member);
      shownToRead.add(member);
    }
    if (focus) {
      // Move focus to the block just shown so a keyboard reader continues there.
      if (!el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "-1");
        el.addEventListener("blur", () => el.removeAttribute("tabindex"), { once: true });
      }
      el.focus({ preventScroll: true });
    }
    reportCount();
  }

  function revealAll(byReader) {
    for (const el of Array.from(hidden.keys())) {
      unhide(el);
      if (!byReader) continue;
      keepShown(el);
      shownToRead.add(el);
    }
    reportCount();
  }

  /** Apply an answer: only ids this script stamped and sent in that request, still in the page.
   * sentChars: the visible characters of the body as it was sent (-1 for a fragment's answer); when the
   * page has lost no node since, the body holds at least that many and the safety check needs no count. */
  async function applyHide(hide, sentIds, sentChars) {
    if (!Array.isArray(hide) || hide.length === 0) return 0;
    const targets = [];
    for (const id of hide) {
      if (typeof id !== "string" || !ID_RE.test(id) || !sentIds.has(id)) continue;
      const el = idToEl.get(id);
      if (!el || !el.isConnected || elToId.get(el) !== id) continue;
      targets.push([el, id]);
    }
    if (!targets.length) return 0;
    const ok = await ensureCss();
    void ok;
    if (observer && sentChars >= 0) {
      const pending = observer.takeRecords(); // removals the observer has not delivered yet
      accounted("mutations", () => noteMutations(pending));
    }
    let bodyLength = sentChars >= 0 && !removedSinceSent ? sentChars : -1;
    const bodyText = () => (bodyLength < 0 ? (bodyLength = textLength(document.body)) : bodyLength);
    const n = accounted("collapse", () => {
      // Every read (text, computed style) before the first write, so the page's style is worked out once;
      // only a collapsed overlay's release (releaseOverlay) reads the page again after the writes.
      if (revealedTexts.size && address() !== revealedAt) revealedTexts.clear();
      const safe = targets.filter(([el]) => safeToHide(el, bodyText) && !drawnAgain(el) && !typingIn(el));
      const inline = safe.map(([el]) => mode === "placeholder" && isInline(el));
      const unseen = safe.map(([el]) => !shownByPage(el));
      const overlays = safe.filter(([el]) => isOverlay(el)).map(([el]) => el);
      let collapsed = 0;
      let last = null; // the entry of the block collapsed just before, and its element
      let lastEl = null;
      safe.forEach(([el, id], i) => {
        const joinTo = last && !inline[i] && !inline[i - 1] && sideBySide(lastEl, el) ? last : null;
        last = collapse(el, id, inline[i], joinTo);
        lastEl = el;
        if (last) collapsed += 1;
        if (last && unseen[i] && !joinTo) keepBarUnseen(el, last);
      });
      for (const el of overlays) {
        if (!hidden.has(el)) continue;
        hidden.get(el).overlay = true;
        releaseOverlay(el);
        watchShowing(el);
      }
      if (overlays.length) releaseAgainSoon();
      return collapsed;
    });
    if (n) reportCount();
    return n;
  }

  /** Appeals hidden: blocks that share a placeholder count once. */
  function hiddenCount() {
    const groups = new Set();
    for (const entry of hidden.values()) if (!entry.unseen) groups.add(entry.group);
    return groups.size;
  }

  let countTimer = 0;
  function reportCount() {
    clearTimeout(countTimer);
    countTimer = setTimeout(() => {
      send({ type: "count", count: hiddenCount(), state, error: stateError });
    }, 50);
  }

  // ------------------------------------------------------------------------------- stamps clean-up
  /** Forget every id, removing the data-hush-id set on collapsed elements (the page is then as it was). */
  async function unstampAll() {
    const entries = Array.from(idToEl.entries());
    idToEl.clear();
    elToId = new WeakMap();
    let i = 0;
    await runSliced((deadline) => {
      while (i < entries.length) {
        const [id, el] = entries[i++];
        if (!hidden.has(el) && el.getAttribute("data-hush-id") === id) el.removeAttribute("data-hush-id");
        if ((i & 63) === 0 && performance.now() > deadline) return false;
      }
      return true;
    }, generation);
  }

  function stopObserving() {
    if (observer) observer.disconnect();
    observer = null;
    queue = [];
    overflowed = new Set();
    rewritten = new Set();
    retryRoots = [];
    clearTimeout(retryTimer);
    retryTimer = 0;
    clearTimeout(flushTimer);
    flushTimer = 0;
    if (showingWatch) showingWatch.disconnect();
    showingWatch = null;
    document.removeEventListener("toggle", lookAgainSoon, true);
    watched.clear();
  }

  async function stop(nextState, error) {
    generation += 1;
    state = nextState;
    stateError = error || "";
    stopObserving();
    revealAll(false);
    hiddenTexts.clear();
    await unstampAll();
    initialDone = false;
  }

  // ------------------------------------------------------------------------------------- fragments
  function onMutations(records) {
    if (state === "running") accounted("mutations", () => noteMutations(records));
  }

  function noteMutations(records) {
    for (const record of records) {
      if (record.type === "attributes") {
        if (record.attributeName === "data-hush-hidden") markAgain(record.target);
        else if (hidden.size) noteOpened(record.target);
        continue;
      }
      if (record.type === "characterData") {
        if (wordsChanged(record.oldValue, record.target.data)) noteRewritten(record.target.parentElement);
        continue;
      }
      if (record.removedNodes.length) {
        removedSinceSent = true;
        if (hidden.size) scheduleOrphanCheck();
      }
      const added = record.addedNodes;
      if (rewrites(record)) noteRewritten(record.target);
      for (let i = 0; i < added.length; i++) {
        let node = added[i];
        if (node.nodeType === 3) {
          // Text put into an element we did not stamp (it was empty then): look at that element again.
          node = record.target;
          if (node.nodeType !== 1 || elToId.has(node) || !/\S/.test(added[i].data)) continue;
        } else if (node.nodeType !== 1) {
          continue;
        }
        if (everHidden) dropCopiedMarks(node);
        if (!node.isConnected) continue;
        if (node.localName === "hush-placeholder" || node.hasAttribute("data-hush-placeholder-wrap")) continue;
        if (hiddenTexts.size && node !== record.target && collapseCopy(node)) continue;
        if (queue.length < MAX_QUEUE) queue.push(node);
        else if (record.target.nodeType === 1) overflowed.add(record.target);
      }
    }
    if (queue.length || rewritten.size) scheduleFlush();
  }

  // ------------------------------------------------------------------------- text the page rewrites
  // Pages write new text into elements they already have: a single-page app fills its next story into
  // the same boxes, a widget loads its text into a "Loading…" box. Text rewritten inside a collapsed block
  // shows it again at once (it may now be the article's) and has it judged again, as is text rewritten in
  // any block judged before, up to MAX_REJUDGED times each (a live ticker would be judged on every change;
  // past that, a block is left as it is, or shown: never kept hidden unjudged). Changes of digits alone (a
  // countdown, a running total) are no new text.
  const MAX_REJUDGED = 8;
  const rejudged = new WeakMap(); // element -> times its rewritten text was judged again
  let rewritten = new Set(); // elements whose text the page rewrote since the last flush

  /** Whether a change of children rewrote text: inside a collapsed block, any change of its words; in
   * another block judged before, a change of its own text (elements it gains are judged as they come). */
  function rewrites(record) {
    const target = record.target;
    const inHidden = hidden.size > 0 && isInsideHidden(target);
    if (!inHidden && !(elToId.has(target) && (hasText(record.addedNodes) || hasText(record.removedNodes)))) {
      return false;
    }
    return wordsChanged(textOf(record.removedNodes), textOf(record.addedNodes));
  }

  function hasText(nodes) {
    for (let i = 0; i < nodes.length; i++) if (nodes[i].nodeType === 3) return true;
    return false;
  }

  function textOf(nodes) {
    let text = "";
    for (let i = 0; i < nodes.length; i++) text += nodes[i].textContent || "";
    return text;
  }

  function wordsChanged(before, after) {
    return words(before) !== words(after);
  }

  function noteRewritten(el) {
    if (el && el.nodeType === 1 && el.isConnected) rewritten.add(el);
  }

  /** Forget the stamps of el and what it holds: it is serialised and judged anew. */
  function unstampTree(el) {
    elToId.delete(el);
    for (const x of el.getElementsByTagName("*")) elToId.delete(x);
  }

  function judgeAgain(el) {
    if (!spend(rejudged, el, MAX_REJUDGED)) return;
    unstampTree(el);
    queue.push(el);
  }

  /** The blocks whose text was rewritten: a collapsed one is shown (with its group) and judged again,
   * others are judged again. */
  function takeRewritten() {
    const els = rewritten;
    rewritten = new Set();
    let shown = false;
    for (const el of els) {
      if (!el.isConnected) continue;
      const owner = hiddenOwner(el);
      if (owner) {
        const group = hidden.get(owner).group.slice();
        unhide(owner);
        shown = true;
        for (const member of group) if (member.isConnected) judgeAgain(member);
      } else if (!el.closest("hush-placeholder, [data-hush-placeholder-wrap]")) {
        let block = el; // text in a <span> or <b>: the block around it, as stamped
        while (block && !elToId.has(block)) block = block.parentElement;
        if (block && block !== document.body) judgeAgain(block);
      }
    }
    if (shown) reportCount();
  }

  // A page that brings its elements' attributes in line with its own markup (morphdom, idiomorph: Turbo,
  // htmx) takes Hush's mark off a collapsed block: the block showed under its "Appeal hidden" bar, still
  // counted. The mark is put back, up to MAX_REMARKED times a block; past that the block is shown.
  const MAX_REMARKED = 20;
  const remarked = new WeakMap();

  function markAgain(el) {
    if (!hidden.has(el) || el.hasAttribute("data-hush-hidden")) return;
    if (spend(remarked, el, MAX_REMARKED)) {
      el.setAttribute("data-hush-hidden", mode);
    } else {
      unhide(el);
      reportCount();
    }
  }

  // A dialog collapsed while closed and opened later by the page (showModal) would leave the rest of the
  // page inert behind it, invisible: it is closed again, up to MAX_CLOSED times (a page may reopen it on
  // "close"), and opened by Show.
  const MAX_CLOSED = 3;
  const closedTimes = new WeakMap();

  function noteOpened(el) {
    if (el.localName !== "dialog" || !el.open) return;
    const owner = hiddenOwner(el);
    if (!owner) return;
    const entry = hidden.get(owner);
    if (spend(closedTimes, el, MAX_CLOSED)) {
      for (const d of closeModals(el)) if (!entry.modals.includes(d)) entry.modals.push(d);
    }
    if (entry.unseen) showBar(entry); // the page meant it to be seen now
  }

  function scheduleFlush() {
    if (!initialDone) return; // the first answer comes first; the flush after it takes the queue
    const now = performance.now();
    if (!firstQueuedAt) firstQueuedAt = now;
    clearTimeout(flushTimer);
    const wait = Math.max(0, Math.min(FRAGMENT_DEBOUNCE_MS, firstQueuedAt + FRAGMENT_MAX_WAIT_MS - now));
    flushTimer = setTimeout(flush, wait);
  }

  /** The page copied a collapsed block or its bar (outerHTML, innerHTML, cloneNode): the copy is not one
   * Hush hid, so it must not stay hidden with no bar to show it, and a copied bar (no shadow root, no
   * button) goes. */
  function dropCopiedMarks(node) {
    const marked = Array.from(node.querySelectorAll("[data-hush-hidden]"));
    if (node.hasAttribute("data-hush-hidden")) marked.push(node);
    for (const el of marked) {
      if (hidden.has(el)) continue;
      el.removeAttribute("data-hush-hidden");
      if (!elToId.has(el)) el.removeAttribute("data-hush-id");
    }
    const bars = Array.from(node.querySelectorAll("hush-placeholder"));
    if (node.localName === "hush-placeholder") bars.push(node);
    for (const bar of bars) {
      if (bar.shadowRoot) continue;
      const wrap = bar.parentElement && bar.parentElement.hasAttribute("data-hush-placeholder-wrap");
      (wrap ? bar.parentElement : bar).remove();
    }
  }

  /** Show again the groups of blocks the page took away (the rest may have lost its placeholder), and
   * put the bar of a block the page moved (into its sidebar, say) back in front of it. */
  function unhideRemoved() {
    const before = hidden.size;
    for (const [el, entry] of Array.from(hidden)) {
      if (!el.isConnected) {
        unhide(el);
        unstampTree(el); // put back later, it is judged again
      } else if (entry.placeholder && entry.placeholder.nextSibling !== el) {
        entry.placeholder.remove(); // made anew: its wrapper (<li>, <tr>) depends on where el now is
        entry.placeholder = makePlaceholder(el, entry.id, entry.inline);
        el.before(entry.placeholder);
      }
    }
    return hidden.size !== before;
  }

  let orphanTimer = 0;
  /** After the page removes nodes, soon: the bar of a collapsed block it removed goes too. */
  function scheduleOrphanCheck() {
    if (orphanTimer) return;
    orphanTimer = setTimeout(() => {
      orphanTimer = 0;
      if (state === "running" && accounted("mutations", unhideRemoved)) reportCount();
    }, 200);
  }

  let pruneAt = 20000;
  function dropOrphanPlaceholders() {
    unhideRemoved();
    // Long-lived pages (feeds, single-page apps) drop elements: forget the ids of those that are gone.
    if (idToEl.size > pruneAt) {
      for (const [id, el] of Array.from(idToEl)) if (!el.isConnected) idToEl.delete(id);
      pruneAt = Math.max(20000, idToEl.size * 2);
    }
  }

  /** New subtrees: connected, in the body, outside hidden blocks, not yet stamped, outermost only. */
  function pickFragmentRoots(nodes) {
    const set = new Set(nodes);
    const roots = [];
    const body = document.body;
    for (const node of set) {
      if (!node.isConnected || elToId.has(node) || !body.contains(node) || node === body) continue;
      if (DROP.has(node.localName) || node.namespaceURI !== HTML_NS) continue;
      let outer = true;
      for (let p = node.parentElement; p && p !== body; p = p.parentElement) {
        if (set.has(p) || hidden.has(p) || p.localName === "hush-placeholder" || DROP.has(p.localName)) {
          outer = false;
          break;
        }
      }
      if (outer) roots.push(node);
    }
    return roots;
  }

  async function flush() {
    flushTimer = 0;
    if (flushing || state !== "running") return;
    flushing = true;
    const gen = generation;
    try {
      if (rewritten.size) accounted("mutations", takeRewritten);
      while (queue.length && gen === generation) {
        firstQueuedAt = 0;
        const nodes = queue.concat(overflowedChildren());
        queue = [];
        dropOrphanPlaceholders();
        const roots = pickFragmentRoots(nodes);
        const batch = roots.slice(0, MAX_ROOTS_PER_BATCH);
        if (roots.length > batch.length) queue = roots.slice(batch.length).concat(queue);
        // New subtrees under one parent (a feed's items, a thread's comments) go in one request, as the
        // siblings they are, up to MAX_FRAGMENT_CHARS; subtrees elsewhere go in requests of their own.
        const jobs = [];
        const byParent = new Map();
        for (const root of batch) {
          if (!root.isConnected || elToId.has(root)) continue;
          if (judgedBefore(root)) {
            perf.fragmentsSkipped += 1;
            continue;
          }
          const stampedBefore = perf.stamped;
          const ser = await serialiseWhole(root, { stamp: true, maxChars: MAX_FRAGMENT_CHARS }, gen);
          if (!ser) return;
          if (perf.stamped === stampedBefore || ser.tooBig) continue; // nothing new (only moved elements)
          const html = ser.out.join("");
          let job = byParent.get(root.parentNode);
          if (!job || job.html.length + html.length > MAX_FRAGMENT_CHARS) {
            job = { html: "", ids: new Set(), textChars: 0, roots: [] };
            byParent.set(root.parentNode, job);
            jobs.push(job);
          }
          job.roots.push(root);
          job.html += html;
          for (const id of ser.ids) job.ids.add(id);
          job.textChars += ser.textChars;
        }
        const asked = jobs.filter((job) => job.textChars >= MIN_FRAGMENT_TEXT); // hardly any text: nothing to ask
        await runLimited(asked, FRAGMENT_CONCURRENCY, async (job) => {
          perf.fragmentsSent += 1;
          perf.fragmentChars += job.html.length;
          const reply = await send({ type: "classify", fragment: true, url: pageUrl(), html: job.html,
            title: docTitle(), lang: docLang() });
          if (gen !== generation) return;
          if (reply && reply.ok) await applyHide(reply.hide, job.ids, -1);
          else if (reply && reply.unreachable && !(reply.status >= 400 && reply.status < 500)) retryLater(job.roots);
        });
      }
    } finally {
      flushing = false;
    }
  }

  // A fragment the endpoint could not answer (down for a moment, restarting, past its time limit) is sent
  // again after RETRY_MS, up to RETRY_TIMES times; a refusal (a wrong token) is not retried.
  const RETRY_MS = 5000;
  const RETRY_TIMES = 3;
  const tries = new WeakMap();
  let retryRoots = [];
  let retryTimer = 0;

  function retryLater(roots) {
    for (const root of roots) {
      if (!spend(tries, root, RETRY_TIMES)) continue;
      unstampTree(root);
      const judged = judgedWords.get(root.parentNode); // not answered: not judged
      if (judged) judged.delete(words(root.textContent));
      retryRoots.push(root);
    }
    if (retryTimer || !retryRoots.length) return;
    retryTimer = setTimeout(() => {
      retryTimer = 0;
      const roots = retryRoots.filter((root) => root.isConnected);
      retryRoots = [];
      if (state !== "running" || !roots.length) return;
      queue.push(...roots);
      scheduleFlush();
    }, RETRY_MS);
  }

  // A page redrawing a list (live results, a ticker) adds new elements every time with the words, digits
  // aside, of those it drew before under the same parent: judged once, they are not sent again (they went
  // to the endpoint several times a second).
  const MAX_JUDGED_WORDS = 500; // per parent; past it, the parent's are forgotten and noted again
  const judgedWords = new WeakMap(); // parent -> words of the subtrees sent from under it

  /** Whether a subtree with root's words was sent from under its parent before; notes them if not. */
  function judgedBefore(root) {
    const key = words(root.textContent);
    if (key.length < MIN_FRAGMENT_TEXT) return false;
    let seen = judgedWords.get(root.parentNode);
    if (!seen || seen.size >= MAX_JUDGED_WORDS) judgedWords.set(root.parentNode, (seen = new Set()));
    if (seen.has(key)) return true;
    seen.add(key);
    return false;
  }

  /** The element children, not yet stamped, of the parents noted while the queue was full (a page that
   * added thousands of nodes at once): none of them is dropped unseen. */
  function overflowedChildren() {
    const found = [];
    for (const parent of overflowed) {
      if (!parent.isConnected) continue;
      if (!elToId.has(parent)) found.push(parent);
      else for (const child of parent.children) if (!elToId.has(child)) found.push(child);
    }
    overflowed = new Set();
    return found;
  }

  async function runLimited(items, limit, fn) {
    let next = 0;
    const workers = [];
    for (let w = 0; w < Math.min(limit, items.length); w++) {
      workers.push((async () => {
        while (next < items.length) await fn(items[next++]);
      })());
    }
    await Promise.all(workers);
  }

  // ------------------------------------------------------------------------------------------ start
  function pageIsEligible() {
    if (location.protocol !== "http:" && location.protocol !== "https:") return "not-http";
    if (!document.body || !(document.documentElement instanceof HTMLElement)) return "not-html";
    if (document.contentType && !/html/i.test(document.contentType)) return "not-html";
    return "";
  }

  async function start() {
    if (state === "starting" || state === "running") return;
    const why = accounted("start", pageIsEligible);
    if (why) {
      state = "skipped";
      stateError = why;
      return;
    }
    state = "starting";
    const gen = ++generation;
    view = Math.random().toString(36).slice(2, 12);
    const hello = await send({ type: "hello" });
    if (gen !== generation) return;
    if (!hello || !hello.run) {
      state = hello && hello.reason === "paused" ? "paused" : hello && hello.reason === "unreachable" ? "unreachable" : "error";
      stateError = (hello && hello.error) || "";
      return;
    }
    mode = hello.mode === "remove" ? "remove" : "placeholder";
    state = "running";
    initialDone = false;
    observer = new MutationObserver(onMutations);
    observer.observe(document.body, { childList: true, subtree: true, characterData: true,
      characterDataOldValue: true, attributes: true, attributeFilter: ["open", "data-hush-hidden"] });

    removedSinceSent = false;
    // The serialiser gives up past MAX_ELEMENTS (too big), rather than counting them all first.
    const page = await serialiseDocument({ stamp: true, maxElements: MAX_ELEMENTS }, gen);
    if (!page || gen !== generation) return;
    perf.elements = page.elements;
    perf.payloadChars = page.html.length;
    if (page.tooBig) {
      await stop("skipped", "too-big");
      return;
    }
    perf.pageSentAt = performance.now();
    const request = { type: "classify", fragment: false, url: pageUrl(), html: page.html, title: docTitle(),
      lang: docLang() };
    let reply = await send(request);
    // A server that says "later" (429 past a proxy's rate limit, 503 while busy) is asked again, twice.
    for (const wait of BUSY_RETRY_MS) {
      if (gen !== generation || !reply || !BUSY.has(reply.status)) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (gen === generation) reply = await send(request);
    }
    perf.answeredAt = performance.now();
    if (gen !== generation) return;
    if (!reply || !reply.ok) {
      // Unreachable, refused or a malformed answer: leave the page exactly as it was.
      await stop(reply && reply.unreachable ? "unreachable" : "error", (reply && reply.error) || "no answer");
      return;
    }
    await applyHide(reply.hide, page.ids, page.visibleChars);
    initialDone = true;
    reportCount();
    if (queue.length || rewritten.size) scheduleFlush();
  }

  const BUSY = new Set([429, 503]);
  const BUSY_RETRY_MS = [2000, 5000];

  // ------------------------------------------------------------------------------------ a new body
  // Some sites (Turbo, pjax and the like) go to their next page by putting a new <body> in place of the
  // old one, without loading a page: for the reader a new page, and so for Hush, which starts over on it.
  // Such a site may bring back a copy of an earlier body, taken while blocks of it were collapsed.
  let bodySeen = document.body;

  async function onNewBody() {
    const body = document.body;
    if (!body || body === bodySeen) return;
    bodySeen = body;
    if (state === "paused") return;
    await stop("idle");
    if (document.body !== body) return; // replaced again meanwhile: that call starts over
    dropCopiedMarks(body);
    start();
  }

  // ------------------------------------------------------------------------------------ corrections
  function blockFor(target) {
    let el = target && target.nodeType === 1 ? target : target && target.parentElement;
    const body = document.body;
    while (el && el !== body && (NO_STAMP.has(el.localName) || el.namespaceURI !== HTML_NS || DROP.has(el.localName))) {
      el = el.parentElement;
    }
    if (!el || el === body || CLIMB_STOP.has(el.localName)) return null;
    // Grow to the box around it: climb while the parent adds a modest amount of text, stopping at
    // elements that are boxes by nature, and never to something holding half the page. From a short
    // element (an appeal's heading or button), also to a small box around it, unless that is a list of
    // links (a menu: "Donate" in it is the appeal, not the menu).
    const bodyLen = textLength(body);
    let len = textLength(el);
    while (!BOXES.has(el.localName)) {
      const parent = el.parentElement;
      if (!parent || parent === body || CLIMB_STOP.has(parent.localName) || parent.getAttribute("role") === "main") break;
      const plen = textLength(parent);
      if (plen > bodyLen * 0.5) break;
      if (plen > len * 3 + 100 && !(len < SHORT_TEXT && plen <= SMALL_BOX && !isLinkList(parent, plen) &&
        !isProse(parent, el))) break;
      el = parent;
      len = plen;
    }
    return el;
  }

  const SHORT_TEXT = 60; // a heading, a button, a link
  const SMALL_BOX = 1500;
  const LISTS = new Set(["ul", "ol", "menu", "nav", "dl", "table", "tbody", "tr", "select"]);
  const PROSE_PARAGRAPH = 100; // characters of a paragraph of running text
  // An appeal box holds one such paragraph; from two on, the text around is read as an article's (a reader
  // who meant a box of two can right-click one of its paragraphs: a paragraph climbs to its box).
  const PROSE_PARAGRAPHS = 2;

  /** Whether el, besides `inner`, holds paragraphs of running text (an article's body, where a "Support
   * us" link ends it): the short element is hidden alone, never the text around it. */
  function isProse(el, inner) {
    let paragraphs = 0;
    for (const p of el.querySelectorAll("p")) {
      if (!p.contains(inner) && !inner.contains(p) && textLength(p) >= PROSE_PARAGRAPH) paragraphs += 1;
    }
    return paragraphs >= PROSE_PARAGRAPHS;
  }

  /** Whether el is a list or a run of links: most of its text is in links. */
  function isLinkList(el, len) {
    if (LISTS.has(el.localName)) return true;
    let linked = 0;
    for (const a of el.querySelectorAll("a")) linked += textLength(a);
    return linked * 2 > len;
  }

  function placeholderTarget(target) {
    // Right-clicks inside the placeholder's shadow root land on the host element.
    for (let p = target; p; p = p.parentElement) {
      if (p.localName === "hush-placeholder") {
        for (const [el, entry] of hidden) {
          if (entry.placeholder && entry.placeholder.contains(p)) return el;
        }
      }
    }
    return null;
  }

  async function saveCorrection(kind, el) {
    const id = stampOf(el);
    const labels = new Map();
    for (const other of [...hidden.keys(), ...shownToRead]) {
      if (other !== el && other.isConnected && !notAppeal.has(other)) labels.set(other, "appeal");
    }
    if (kind === "appeal") labels.set(el, "appeal");
    const meta = [["hush-source", pageUrl()]];
    if (kind === "not-appeal") meta.push(["hush-correction", "not-appeal:" + id]);
    const page = await serialiseDocument({ stamp: false, labels, meta, maxChars: MAX_PAYLOAD_CHARS }, generation);
    if (!page) return { ok: false, error: "Hush stopped on this page meanwhile" };
    if (page.tooBig) return { ok: false, error: "page too large to store" };
    return send({ type: "correction", kind, url: pageUrl(), title: docTitle(), elementId: id, html: page.html,
      view });
  }

  /** The bar of a block the reader hid says when their correction could not be stored (it is hidden all
   * the same): they would otherwise count on it for retraining. */
  function sayUnsaved(entry, why) {
    const bar = entry.placeholder;
    const host = bar && (bar.localName === "hush-placeholder" ? bar : bar.querySelector("hush-placeholder"));
    const label = host && host.shadowRoot && host.shadowRoot.querySelector("span");
    if (label) label.textContent = "Hidden by you, not saved for retraining (" + why + ") ·";
  }

  async function onMenu(action) {
    const target = lastContextTarget;
    if (!target || !target.isConnected) return { ok: false, error: "nothing selected" };
    if (action === "hide") {
      if (placeholderTarget(target)) return { ok: false, error: "already hidden" };
      const el = blockFor(target);
      if (!el) return { ok: false, error: "no block there" };
      revealed.delete(el);
      revealedTexts.delete(textKey(el));
      notAppeal.delete(el);
      const result = await saveCorrection("appeal", el);
      await ensureCss();
      const entry = collapse(el, stampOf(el), isInline(el));
      if (entry && !(result && result.ok)) sayUnsaved(entry, (result && result.error) || "no answer");
      reportCount();
      return Object.assign({ hidden: true }, result);
    }
    if (action === "not-appeal") {
      let el = placeholderTarget(target);
      if (!el) {
        for (let p = target; p; p = p.parentElement) {
          if (revealed.has(p)) {
            el = p;
            break;
          }
        }
      }
      if (!el) return { ok: false, error: "not on a block Hush hid" };
      const entry = hidden.get(el);
      for (const member of entry ? entry.group : [el]) notAppeal.add(member);
      reveal(el, false);
      return saveCorrection("not-appeal", el);
    }
    return { ok: false };
  }

  document.addEventListener("contextmenu", (event) => {
    lastContextTarget = event.composedPath ? event.composedPath()[0] : event.target;
    if (lastContextTarget && lastContextTarget.nodeType !== 1 && lastContextTarget.parentElement) {
      lastContextTarget = lastContextTarget.parentElement;
    }
    // Inside a shadow root, composedPath()[0] is in the shadow tree: use the host.
    if (lastContextTarget && lastContextTarget.getRootNode && lastContextTarget.getRootNode() instanceof ShadowRoot) {
      lastContextTarget = lastContextTarget.getRootNode().host;
    }
  }, true);

  // ------------------------------------------------------------------------- messages from Hush
  api.runtime.onMessage.addListener((message, sender, sendResponse) => {
    if (!fromExtension(sender) || !message || typeof message.type !== "string") return false;
    switch (message.type) {
      case "stats":
        sendResponse({
          host: location.hostname,
          state,
          error: stateError,
          mode,
          collapsed: hiddenCount(),
          ids: idToEl.size,
          perf: Object.assign({}, perf),
        });
        return false;
      case "showAll":
        revealAll(true);
        sendResponse({ ok: true, collapsed: hiddenCount() });
        return false;
      case "pause":
        stop("paused").then(() => sendResponse({ ok: true }));
        return true;
      case "resume":
        if (state === "paused") state = "idle";
        start();
        sendResponse({ ok: true });
        return false;
      case "menu":
        onMenu(message.action).then(sendResponse, () => sendResponse({ ok: false }));
        return true;
      default:
        return false;
    }
  });

  new MutationObserver(onNewBody).observe(document.documentElement, { childList: true });
  start();
})();
