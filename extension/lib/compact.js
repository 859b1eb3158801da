/* Hush: the compact copy of a page that the content script sends, written in slices.
 *
 * Only what the classifier reads goes out: no script, style, svg, image or comment, no inline style, the
 * few attributes the model uses (class lists trimmed, links cut short), formatting tags unwrapped, and
 * each stamped element's id as data-hush-id. The model reads its training pages through the same rules
 * (model/compact.py): change both together.
 */
"use strict";

(function (root) {
  // Whose contents are never sent (and never stamped).
  // Images go too: the model reads no image, and an image alone makes a box look as if it held something.
  const DROP = new Set(["script", "style", "svg", "noscript", "template", "iframe", "object", "embed",
    "canvas", "math", "link", "meta", "base", "head", "source", "track", "param", "img", "hush-placeholder"]);
  // Elements without an end tag.
  const VOID = new Set(["area", "br", "col", "embed", "hr", "img", "input", "source", "track", "wbr"]);
  // Phrasing elements that never wrap an appeal on their own; they are sent but not stamped.
  const NO_STAMP = new Set(["b", "i", "em", "strong", "small", "sup", "sub", "abbr", "mark", "u", "s", "q",
    "cite", "code", "kbd", "var", "samp", "time", "data", "img", "picture", "source", "track", "br", "wbr",
    "span", "font", "bdi", "bdo", "ruby", "rt", "rp", "del", "ins", "dfn", "col", "colgroup", "option",
    "optgroup", "input", "label", "area", "map", "hr", "tbody", "thead", "tfoot", "textarea", "select",
    "video", "audio", "param", "tt", "big", "nobr"]);
  // Pure formatting: their text is sent, their tags are not.
  const UNWRAP = new Set(["b", "i", "em", "strong", "small", "sup", "sub", "abbr", "mark", "u", "s", "font",
    "time", "data", "bdi", "bdo", "cite", "q", "dfn", "del", "ins", "kbd", "var", "samp", "code", "tt", "big",
    "nobr", "wbr", "picture"]);
  // Elements kept even when empty (their attributes can carry the signal, e.g. a "donate" link with an icon).
  const KEEP_EMPTY = new Set(["a", "button", "select", "textarea", "progress", "meter"]);
  // ARIA roles worth sending (landmarks, dialogs, controls); "presentation", "menuitem" and the like are noise.
  const ROLES = new Set(["banner", "complementary", "contentinfo", "dialog", "alertdialog", "alert", "status",
    "main", "navigation", "region", "button", "link", "form", "search", "note", "marquee", "article",
    "heading", "tooltip", "log"]);
  // Tags of the wrappers that keep a placeholder valid inside lists and tables.
  const WRAP_TAGS = new Set(["li", "tr", "td", "th", "dt", "dd"]);
  // Block-level tags: whitespace between two of them carries nothing and is not sent. Not <label> or
  // <picture>: the model reads them as inline, so the space between two of them separates words.
  const BLOCK = new Set(["div", "p", "ul", "ol", "li", "section", "article", "aside", "header", "footer", "nav",
    "main", "form", "figure", "figcaption", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "dl", "dt",
    "dd", "blockquote", "pre", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "details", "summary", "dialog",
    "fieldset", "address", "caption", "script", "style", "noscript", "template", "link", "meta",
    "iframe", "svg", "select", "option"]);
  const BUTTON_INPUT_TYPES = new Set(["button", "submit"]);
  // End tags the server's parser (libxml2, model/parse.py) infers, so the copy leaves them out: an end tag
  // followed by its parent's, when that one may close it (an end tag closes the elements open inside its
  // element only if they rank no higher: a </div> closes a <span>, a </span> does not close a <div>); a
  // </li> before the next item; a </p> before a block that ends a paragraph. Never the end of an element
  // whose contents are not markup.
  const END_RANK = new Map([["div", 150], ["td", 160], ["th", 160], ["tr", 170], ["thead", 180],
    ["tbody", 180], ["tfoot", 180], ["table", 190]]); // all others: 100
  const KEEP_END = new Set(["title", "textarea", "select", "option", "script", "style"]);
  const ENDS_P = new Set(["div", "p", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "table", "form",
    "blockquote", "pre", "hr", "dl", "address", "fieldset", "li"]); // all in BLOCK: never emptied away

  function escapeText(text) {
    return /[&<>]/.test(text) ? text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;") : text;
  }

  function escapeAttr(text) {
    return /[&"<]/.test(text) ? text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;") : text;
  }

  // A value any HTML parser reads back the same without quotes: no space, quote, "=", "<", ">", "`" or
  // "&", and no "/" at its end (which an old parser could take for a self-closing tag).
  const BARE_VALUE = /^[^\s"'=<>`&]*[^\s"'=<>`&/]$/;

  /** One attribute as written into the copy: unquoted where that reads back the same (2 characters less). */
  function attr(name, value) {
    return BARE_VALUE.test(value) ? " " + name + "=" + value : " " + name + '="' + escapeAttr(value) + '"';
  }

  function squash(value, max) {
    if (value.length <= max && !/\s/.test(value)) return value; // the usual case, without a copy
    const v = value.replace(/\s+/g, " ").trim();
    return v.length > max ? v.slice(0, max) : v;
  }

  // tests/test_extension_browser.py checks that a page and its compact copy give the model the same blocks.

  /** Class tokens worth sending: no generated names (hashes, counters), at most 48 characters. */
  const classCache = new Map();
  function trimClass(value) {
    let v = classCache.get(value);
    if (v !== undefined) return v;
    v = trimClassUncached(value);
    if (classCache.size > 5000) classCache.clear();
    classCache.set(value, v);
    return v;
  }

  function trimClassUncached(value) {
    let v = "";
    for (const token of value.split(/\s+/)) {
      // Tokens with digits are layout counters or generated names ("col-md-3", "css-1x2y3z", "menu--depth-2").
      if (!token || token.length > 32 || /\d|__[A-Za-z]{5}$/.test(token)) continue;
      if (v.length + token.length > 48) break;
      v = v ? v + " " + token : token;
    }
    return v;
  }

  function isBlockOrNone(node) {
    return node === null || (node.nodeType === 1 && BLOCK.has(node.localName)) || node.nodeType === 8;
  }

  // The page's own site: its host (and port) without "www.", as links to it are read with either scheme.
  const OWN_HOST = location.host.replace(/^www\./i, "").toLowerCase();
  /** href without query, fragment, data:/javascript:/blob: URLs. Returns "" to drop the attribute. */
  function trimHref(value) {
    let v = value.trim();
    const head = v.slice(0, 11).toLowerCase();
    if (head.startsWith("data:") || head.startsWith("javascript:") || head.startsWith("blob:") ||
        head.startsWith("vbscript:")) return "";
    const cut = v.search(/[?#]/);
    if (cut >= 0) v = v.slice(0, cut);
    let host = "";
    const m = /^(?:https?:)?\/\/(?:www\.)?([^/]*)/i.exec(v); // an address with a host: no scheme, no www.
    if (m) {
      v = v.slice(m[0].length);
      if (m[1].toLowerCase() !== OWN_HOST) host = "//" + m[1];
      else if (!v) v = "/"; // the page's own site: the path is enough
    }
    if (v.length > 40) {
      // Long paths: the last two segments say what the link is ("…/ueber-uns/mitglied-werden/").
      const segments = v.split("/").filter(Boolean).slice(-2).join("/");
      v = "/…/" + (segments.length > 60 ? segments.slice(-60) : segments);
    }
    return (host + v).slice(0, 120);
  }

  /** True when `parent` (stamped) holds one element and no text of its own: that child needs no id. */
  function wrapsOneElement(parent) {
    if (parent.childElementCount !== 1) return false;
    const nodes = parent.childNodes;
    if (nodes.length > 3) return false;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      if (n.nodeType === 3 && /\S/.test(n.data)) return false;
    }
    return true;
  }

  /**
   * A sliced serialiser for the subtree at `root` (an element). Options:
   *   stamp: stamp data-hush-id on stampable elements (else only already-stamped ones carry their id)
   *   labels: Map element -> label, written as data-hush-label (corrections)
   *   skipRoot: write the root's children only (the document's <body> is written by the caller)
   *   maxChars: stop (tooBig) past this many characters
   *   maxElements: stop (tooBig) past walking this many elements
   * `idMap`: element -> its id, as stamped so far; `stampOf(el)`: its id, given now if it has none.
   * Returns {step(deadline) -> done, out: string[], ids: Set, textChars, visibleChars (its text's
   * non-whitespace characters), elements, aborted, tooBig}.
   */
  function serializer(root, opts, idMap, stampOf) {
    const out = [];
    const ids = new Set();
    const labels = opts.labels || null;
    // Open elements, and for each: its end tag ("" when unwrapped), whether it holds a label, and
    // whether its only content is one element (whose id would then be redundant).
    const stack = [];
    const closers = [];
    const starts = []; // where its start tag stands in out (-1: none written)
    const reals = []; // `real` as it was before its start tag
    const labelled = [];
    const single = [];
    // its stamp or null: {id, start, chars (visible characters before it; once closed, in it), the last
    // stamped child with text and how many}
    const marks = [];
    const openStamps = []; // the marks of the open stamped elements, innermost last
    const self = { step, out, ids, textChars: 0, visibleChars: 0, elements: 0, aborted: false, tooBig: false };
    let cur = opts.skipRoot ? root.firstChild : root;
    let size = 0;
    let written = null; // set by enter()
    // The last end tag written, where it stands in out, and the tags of the elements whose end tags were
    // left out before it (it closes them too). Only the last entry of out is ever looked at, and no end
    // tag is written inside an element that is then dropped as empty, so one is enough.
    let lastEnd = -1;
    let lastEndTag = "";
    let lastEndCloses = null;
    let visited = 0; // elements walked, left out or not
    const maxElements = opts.maxElements || Infinity;
    let labelDepth = 0;
    let real = -1; // index in out of the last entry that is not a space or an emptied block's bare tags
    if (opts.skipRoot) {
      if (!cur) return Object.assign(self, { step: () => true });
      stack.push(root);
      closers.push("");
      starts.push(-1);
      reals.push(-1);
      labelled.push(false);
      single.push(false);
      marks.push(null);
    }

    function attributes(el, tag) {
      // Only what the classifier uses; everything else (style, data-*, src, on*, ...) stays behind.
      let s = "";
      let v = el.getAttribute("class");
      if (v) {
        v = trimClass(v);
        if (v) s += attr("class", v);
      }
      v = el.getAttribute("id");
      if (v) s += attr("id", squash(v, 60));
      v = el.getAttribute("role");
      if (v && ROLES.has(v)) s += " role=" + v;
      v = el.getAttribute("aria-label");
      if (v) s += attr("aria-label", squash(v, 120));
      if (tag === "a" || tag === "area") {
        v = el.getAttribute("href");
        if (v) {
          v = trimHref(v);
          if (v) s += attr("href", v);
        }
      } else if (tag === "input") {
        // The model counts an input as a button when it is one; its other types, names and values it
        // does not read.
        v = (el.getAttribute("type") || "").toLowerCase();
        if (BUTTON_INPUT_TYPES.has(v)) s += " type=" + v;
      }
      return s;
    }

    /** Write el's start tag; returns its end tag, or null when el is left out with its contents. Sets
     * `written` to the mark of the id it wrote, if any. */
    function enter(el, tag, parentSingle) {
      written = null;
      let id = idMap.get(el);
      const label = labels !== null && labels.has(el);
      if (id === undefined && !label) {
        if (UNWRAP.has(tag)) return ""; // its text goes out, its tag does not
        if (!VOID.has(tag) && !KEEP_EMPTY.has(tag)) {
          const first = el.firstChild;
          if (first === null || (first === el.lastChild && first.nodeType === 3 && !/\S/.test(first.data))) {
            return null; // an empty box: nothing to classify
          }
        }
        if (opts.stamp && !NO_STAMP.has(tag) && !parentSingle) id = stampOf(el);
      }
      let s = "<" + tag;
      if (id !== undefined) {
        ids.add(id);
        s += " data-hush-id=" + id; // base 36: never quoted
        written = { id, start: -1, chars: self.visibleChars, kid: null, kids: 0 };
      }
      if (label && labelDepth === 0) s += attr("data-hush-label", labels.get(el));
      if (el.hasAttributes()) s += attributes(el, tag);
      s += ">";
      dropEndBefore(tag);
      out.push(s);
      real = out.length - 1;
      if (written) written.start = real;
      size += s.length;
      self.elements += 1;
      return VOID.has(tag) ? "" : "</" + tag + ">";
    }

    function pop() {
      const el = stack.pop();
      const closer = closers.pop();
      const start = starts.pop();
      const before = reals.pop();
      const label = labelled.pop();
      if (label) labelDepth -= 1;
      single.pop();
      const mark = marks.pop();
      if (mark) openStamps.pop();
      if (!closer) return;
      // Nothing but spaces and emptied blocks written since its start tag.
      if (real === start && !label && !KEEP_EMPTY.has(el.localName)) {
        dropEmpty(el, start);
        real = before;
        return;
      }
      close(el.localName, closer);
      if (mark) settle(mark);
    }

    /** Write an end tag, leaving out the one just before it when this one closes that element too. */
    function close(tag, closer) {
      let inside = null; // what this end tag closes besides its element
      if (lastEnd === out.length - 1) {
        const prev = lastEndTag;
        if (prev !== tag && !KEEP_END.has(prev) && !(lastEndCloses && lastEndCloses.includes(tag)) &&
            (END_RANK.get(prev) || 100) <= (END_RANK.get(tag) || 100)) {
          out.pop();
          inside = lastEndCloses ? [...lastEndCloses, prev] : [prev];
        }
      }
      out.push(closer);
      real = lastEnd = out.length - 1;
      lastEndTag = tag;
      lastEndCloses = inside;
    }

    /** Before a start tag: leave out the end tag just written if this start tag closes its element. */
    function dropEndBefore(tag) {
      if (lastEnd !== out.length - 1 || lastEndCloses) return;
      if ((lastEndTag === "li" && tag === "li") || (lastEndTag === "p" && ENDS_P.has(tag))) {
        out.pop();
        lastEnd = -1;
      }
    }

    /**
     * Ids the server would never answer with go again once an element is written (fewer characters to
     * send, the same collapsed): the server names the outermost stamped elements whose text is all appeal,
     * and never one with no text. So a stamped element with no visible text loses its id, and so does one
     * whose nearest stamped ancestor holds no other visible text (the ancestor would be named instead).
     */
    function settle(mark) {
      const chars = self.visibleChars - mark.chars;
      // Stamped children with text hold apart text: one holds all of it only if it is the only one.
      if (mark.kids === 1 && mark.kid.chars === chars) unstamp(mark.kid);
      if (chars === 0) {
        unstamp(mark);
      } else if (openStamps.length) {
        mark.chars = chars;
        const parent = openStamps[openStamps.length - 1];
        parent.kid = mark;
        parent.kids += 1;
      }
    }

    function unstamp(mark) {
      const s = out[mark.start];
      const piece = " data-hush-id=" + mark.id;
      const at = s.indexOf(" ");
      const after = s.charCodeAt(at + piece.length); // a space or ">" (32, 62): the whole id
      if (at < 0 || !s.startsWith(piece, at) || (after !== 32 && after !== 62)) return;
      out[mark.start] = s.slice(0, at) + s.slice(at + piece.length);
      size -= piece.length;
      ids.delete(mark.id);
    }

    /**
     * An element whose written contents came to nothing (its images and icons left out): its start tag and
     * id go. A block-level one stays as a bare pair of tags, since a block between two stretches of text
     * splits them for the model; an inline one leaves a space, where it held one, to keep words apart.
     */
    function dropEmpty(el, start) {
      let pair = "";
      let space = false;
      for (let i = start; i < out.length; i++) {
        size -= out[i].length;
        if (i === start) continue;
        if (out[i] === " ") space = true;
        else if (!pair) pair = out[i];
      }
      const id = idMap.get(el);
      if (id !== undefined) ids.delete(id);
      out.length = start;
      const tag = el.localName;
      if (BLOCK.has(tag)) pair = "<" + tag + "></" + tag + ">";
      if (pair) {
        out.push(pair);
        size += pair.length;
      } else if (space && out.length && !out[out.length - 1].endsWith(" ")) {
        out.push(" ");
        size += 1;
      }
    }

    function step(deadline) {
      if (cur === null) return true;
      // Between slices the page may have moved things: if our position is no longer where the stack says,
      // stop here and send what we have (whatever was added meanwhile reaches us as a fragment).
      if (stack.length && cur.parentNode !== stack[stack.length - 1]) {
        self.aborted = true;
        while (stack.length) pop();
        cur = null;
        return true;
      }
      let n = 0;
      while (cur !== null) {
        if ((++n & 31) === 0) {
          if (performance.now() > deadline) return false;
          if (size > opts.maxChars || visited > maxElements) {
            self.tooBig = true;
            cur = null;
            return true;
          }
        }
        const type = cur.nodeType;
        if (type === 1) {
          visited += 1;
          const tag = cur.localName;
          if (!DROP.has(tag) && !(WRAP_TAGS.has(tag) && cur.hasAttribute("data-hush-placeholder-wrap"))) {
            const depth = stack.length;
            const before = real;
            const closer = enter(cur, tag, depth > 0 && single[depth - 1]);
            const mark = written;
            if (closer !== null && !VOID.has(tag) && cur.firstChild !== null) {
              const label = labels !== null && labels.has(cur);
              if (label) labelDepth += 1;
              stack.push(cur);
              closers.push(closer);
              starts.push(closer === "" ? -1 : out.length - 1);
              reals.push(before);
              labelled.push(label);
              single.push(mark !== null && wrapsOneElement(cur)); // it wrote an id (so a tag)
              marks.push(mark);
              if (mark) openStamps.push(mark);
              cur = cur.firstChild;
              continue;
            }
            if (closer) close(tag, closer);
            if (mark) unstamp(mark); // no contents: no text
          }
        } else if (type === 3) {
          const data = cur.data;
          if (!/\S/.test(data)) {
            // Whitespace: one space, and none at all between two blocks.
            const prev = cur.previousSibling;
            const next = cur.nextSibling;
            if (data.length && !(isBlockOrNone(prev) && isBlockOrNone(next)) && out.length &&
                !out[out.length - 1].endsWith(" ")) {
              out.push(" ");
              size += 1;
            }
          } else {
            const squashed = data.replace(/\s+/g, " ");
            const t = escapeText(squashed);
            out.push(t);
            real = out.length - 1;
            size += t.length;
            self.textChars += t.length;
            self.visibleChars += squashed.length - spacesIn(squashed);
          }
        }
        // Next node: a sibling, or climb, closing tags.
        for (;;) {
          if (stack.length === 0) {
            cur = null;
            break;
          }
          const sib = cur.nextSibling;
          if (sib !== null) {
            cur = sib;
            break;
          }
          cur = stack[stack.length - 1]; // no more siblings: close the parent
          pop();
          if (stack.length === 0) {
            cur = null; // closed the root
            break;
          }
        }
      }
      // The limits are looked at every 32 nodes above: a walk may end past one between two looks.
      if (size > opts.maxChars || visited > maxElements) self.tooBig = true;
      return true;
    }

    return self;
  }

  function spacesIn(text) {
    let n = 0;
    for (let i = text.indexOf(" "); i !== -1; i = text.indexOf(" ", i + 1)) n += 1;
    return n;
  }

  root.HushCompact = Object.freeze({ DROP, NO_STAMP, escapeText, escapeAttr, serializer });
})(globalThis);
