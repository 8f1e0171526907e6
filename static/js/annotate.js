// Annotating evidence: select a passage (or drag a rectangle on an image) and
// write a note in a popover. The form is a real form that works without this
// script; here it becomes a popover filled with W3C selectors:
// TextQuoteSelector (exact, prefix, suffix) and TextPositionSelector
// (start, end), counted in Unicode code points over the text's textContent,
// or a FragmentSelector "xywh=x,y,w,h" in image pixels. The server re-checks
// every selector against the stored text. No inline handlers (CSP).
(function () {
  "use strict";

  var CONTEXT = 32;

  function form() { return document.getElementById("annotation-form"); }
  function field(name) {
    var f = form();
    return f ? f.querySelector('[name="new-' + name + '"]') : null;
  }
  function setField(name, value) {
    var input = field(name);
    if (input) { input.value = value; }
  }
  function codePoints(text) { return Array.from(text); }

  // -- Popover ---------------------------------------------------------------

  function enhance() {
    var f = form();
    // By class, not a one-off flag: when htmx swaps in a fresh form it settles
    // the new element's own classes after htmx:load, so this runs again then.
    if (!f || f.classList.contains("js-popover")) { return; }
    f.classList.add("js-popover");
    f.setAttribute("role", "dialog");
    var close = f.querySelector("[data-popover-close]");
    if (close) { close.hidden = false; }
    if (f.classList.contains("has-errors")) {
      var region = field("region");
      if (region && region.value) { showRegionMode(region.value); }
      var anchor = document.querySelector("#evidence-text, [data-region-canvas]");
      openPopover(anchor ? anchor.getBoundingClientRect() : null);
    }
  }

  function openPopover(anchorRect) {
    var f = form();
    if (!f) { return; }
    f.classList.add("is-open");
    var top = window.scrollY + 80;
    var left = window.scrollX + 24;
    if (anchorRect) {
      top = window.scrollY + anchorRect.bottom + 8;
      left = window.scrollX + Math.max(8, Math.min(anchorRect.left,
        document.documentElement.clientWidth - f.offsetWidth - 16));
    }
    // CSSOM, not a style attribute: allowed by the CSP.
    f.style.top = top + "px";
    f.style.left = left + "px";
    var note = field("body");
    if (note) { note.focus({ preventScroll: true }); }
  }

  function closePopover() {
    var f = form();
    if (!f) { return; }
    f.classList.remove("is-open");
    f.classList.remove("region-mode");
    var label = f.querySelector("[data-region-label]");
    if (label) { label.hidden = true; }
    removeDraft();
    if (window.CSS && CSS.highlights) { CSS.highlights.delete("anno-draft"); }
  }

  function showRegionMode(value) {
    var f = form();
    f.classList.add("region-mode");
    var label = f.querySelector("[data-region-label]");
    if (label) {
      label.hidden = false;
      label.querySelector("[data-region-output]").textContent = value;
    }
  }

  // -- Text selection ----------------------------------------------------------

  function selectionIn(container) {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) { return null; }
    var range = selection.getRangeAt(0);
    if (!container.contains(range.startContainer) || !container.contains(range.endContainer)) {
      return null;
    }
    var before = document.createRange();
    before.selectNodeContents(container);
    before.setEnd(range.startContainer, range.startOffset);
    var start16 = before.toString().length;
    var end16 = start16 + range.toString().length;
    var full = container.textContent;
    var start = codePoints(full.slice(0, start16)).length;
    var end = codePoints(full.slice(0, end16)).length;
    var points = codePoints(full);
    var exact = points.slice(start, end).join("");
    if (!exact.trim()) { return null; }
    return {
      exact: exact,
      prefix: points.slice(Math.max(0, start - CONTEXT), start).join(""),
      suffix: points.slice(end, end + CONTEXT).join(""),
      start: start,
      end: end,
      range: range.cloneRange(),
      rect: range.getBoundingClientRect()
    };
  }

  function onSelect(event) {
    var container = document.getElementById("evidence-text");
    if (!container || !container.hasAttribute("data-can-write")) { return; }
    if (form() && form().contains(event.target)) { return; }
    var found = selectionIn(container);
    if (!found) { return; }
    form().classList.remove("region-mode");
    setField("exact", found.exact);
    setField("quote_prefix", found.prefix);
    setField("quote_suffix", found.suffix);
    setField("start", String(found.start));
    setField("end", String(found.end));
    setField("region", "");
    // Keep the passage marked while focus moves to the note (CSS Custom Highlight API).
    if (window.Highlight && window.CSS && CSS.highlights) {
      CSS.highlights.set("anno-draft", new Highlight(found.range));
    }
    openPopover(found.rect);
  }

  // -- Highlights open their notes ------------------------------------------------

  function bubble() {
    var b = document.getElementById("note-bubble");
    if (!b) {
      b = document.createElement("div");
      b.id = "note-bubble";
      b.className = "note-bubble";
      b.setAttribute("role", "dialog");
      b.setAttribute("aria-label", "Annotation");
      document.body.appendChild(b);
    }
    return b;
  }

  function openNotes(ids, rect) {
    var b = bubble();
    b.textContent = "";
    ids.forEach(function (id) {
      var entry = document.getElementById("annotation-" + id);
      if (!entry) { return; }
      var note = entry.querySelector(".note");
      var meta = entry.querySelector(".meta");
      var by = entry.querySelector(".byline");
      var block = document.createElement("div");
      block.className = "bubble-note";
      var p = document.createElement("p");
      p.textContent = note ? note.textContent : "";
      block.appendChild(p);
      if (meta && meta.textContent.trim()) {
        var m = document.createElement("p");
        m.className = "meta";
        m.textContent = meta.textContent.replace(/\s+/g, " ").trim();
        block.appendChild(m);
      }
      if (by) {
        var s = document.createElement("p");
        s.className = "byline";
        s.textContent = by.textContent.replace(/\s+/g, " ").trim();
        block.appendChild(s);
      }
      var link = document.createElement("a");
      link.href = "#annotation-" + id;
      link.textContent = "Show in the panel";
      link.addEventListener("click", function () {
        entry.classList.add("is-active");
        window.setTimeout(function () { entry.classList.remove("is-active"); }, 2000);
      });
      block.appendChild(link);
      b.appendChild(block);
    });
    var close = document.createElement("button");
    close.type = "button";
    close.className = "link bubble-close";
    close.textContent = "Close";
    close.addEventListener("click", function () { b.classList.remove("is-open"); });
    b.appendChild(close);
    b.classList.add("is-open");
    b.style.top = (window.scrollY + rect.bottom + 6) + "px";
    b.style.left = (window.scrollX + Math.max(8, Math.min(rect.left,
      document.documentElement.clientWidth - 360))) + "px";
  }

  function onClick(event) {
    var mark = event.target.closest("mark.anno, [data-region-canvas] a[data-annotations]");
    if (mark) {
      var selection = window.getSelection();
      if (selection && !selection.isCollapsed && mark.tagName === "MARK") { return; }
      event.preventDefault();
      openNotes(mark.getAttribute("data-annotations").split(" "), mark.getBoundingClientRect());
      return;
    }
    var b = document.getElementById("note-bubble");
    if (b && !b.contains(event.target)) { b.classList.remove("is-open"); }
    if (event.target.closest("[data-popover-close]")) { closePopover(); }
  }

  function onKey(event) {
    if (event.key === "Escape") {
      closePopover();
      var b = document.getElementById("note-bubble");
      if (b) { b.classList.remove("is-open"); }
      return;
    }
    var mark = event.target.closest && event.target.closest("mark.anno");
    if (mark && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      openNotes(mark.getAttribute("data-annotations").split(" "), mark.getBoundingClientRect());
    }
  }

  function focusableMarks() {
    document.querySelectorAll("mark.anno").forEach(function (mark) {
      mark.tabIndex = 0;
      mark.setAttribute("role", "button");
    });
  }

  // -- Image regions ------------------------------------------------------------

  var drag = null;
  var SVGNS = "http://www.w3.org/2000/svg";

  function imagePoint(canvas, event) {
    var box = canvas.getBoundingClientRect();
    var width = Number(canvas.dataset.width);
    var height = Number(canvas.dataset.height);
    var x = (event.clientX - box.left) * width / box.width;
    var y = (event.clientY - box.top) * height / box.height;
    return {
      x: Math.max(0, Math.min(width, Math.round(x))),
      y: Math.max(0, Math.min(height, Math.round(y)))
    };
  }

  function removeDraft() {
    var old = document.querySelector("rect.region-draft");
    if (old) { old.remove(); }
  }

  function onPointerDown(event) {
    var canvas = event.target.closest("[data-region-canvas][data-can-write]");
    if (!canvas || event.button !== 0 || event.target.closest("a")) { return; }
    event.preventDefault();
    removeDraft();
    var rect = document.createElementNS(SVGNS, "rect");
    rect.setAttribute("class", "region region-draft");
    rect.setAttribute("vector-effect", "non-scaling-stroke");
    canvas.querySelector("svg").appendChild(rect);
    drag = { canvas: canvas, from: imagePoint(canvas, event), rect: rect };
    updateDraft(drag.from);
  }

  function updateDraft(to) {
    var x = Math.min(drag.from.x, to.x);
    var y = Math.min(drag.from.y, to.y);
    var w = Math.abs(to.x - drag.from.x);
    var h = Math.abs(to.y - drag.from.y);
    drag.rect.setAttribute("x", x);
    drag.rect.setAttribute("y", y);
    drag.rect.setAttribute("width", w);
    drag.rect.setAttribute("height", h);
    return { x: x, y: y, w: w, h: h };
  }

  function onPointerMove(event) {
    if (!drag) { return; }
    updateDraft(imagePoint(drag.canvas, event));
  }

  function onPointerUp(event) {
    if (!drag) { return; }
    var box = updateDraft(imagePoint(drag.canvas, event));
    var rect = drag.rect.getBoundingClientRect();
    drag = null;
    if (box.w < 2 || box.h < 2) { removeDraft(); return; }
    var value = "xywh=" + [box.x, box.y, box.w, box.h].join(",");
    ["exact", "quote_prefix", "quote_suffix", "start", "end"].forEach(function (n) { setField(n, ""); });
    setField("region", value);
    showRegionMode(value);
    openPopover(rect);
  }

  // A new annotation saved: the server answered only what changed (HX-Reswap:
  // none), so the popover's form is emptied and closed here.
  function afterRequest(event) {
    var f = form();
    var xhr = event.detail && event.detail.xhr;
    if (!f || event.detail.elt !== f || !event.detail.successful || !xhr ||
        xhr.getResponseHeader("HX-Reswap") !== "none") { return; }
    f.reset();
    f.querySelectorAll("input[type=hidden]:not([name=csrfmiddlewaretoken])").forEach(function (input) {
      input.value = "";
    });
    f.querySelectorAll(".errorlist").forEach(function (list) { list.remove(); });
    f.classList.remove("has-errors");
    closePopover();
  }

  // -- Wiring ---------------------------------------------------------------------

  function init() {
    enhance();
    focusableMarks();
  }

  document.addEventListener("mouseup", onSelect);
  document.addEventListener("keyup", function (event) {
    if (event.shiftKey || event.key === "Shift") { onSelect(event); }
  });
  document.addEventListener("keydown", onKey);
  document.addEventListener("click", onClick);
  document.addEventListener("pointerdown", onPointerDown);
  document.addEventListener("pointermove", onPointerMove);
  document.addEventListener("pointerup", onPointerUp);
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:load", init);
  document.addEventListener("htmx:afterSettle", init);
  document.addEventListener("htmx:afterRequest", afterRequest);
  document.body && init();
})();
