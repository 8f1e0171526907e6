// The case page: drag-and-drop attach with upload progress, keyboard
// behaviour of the matrix cell editor. No inline handlers (the CSP forbids
// them); everything here also degrades to the plain forms without JS.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // -- drop zone: a file dropped on the box fills the file input -------------
  function showName(zone, input) {
    var label = zone.querySelector("[data-drop-name]");
    if (label) {
      label.textContent = input.files && input.files.length ? input.files[0].name : "";
    }
  }

  document.addEventListener("dragover", function (event) {
    var zone = event.target.closest && event.target.closest("[data-drop-zone]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.add("is-over");
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("[data-drop-zone]");
    if (zone) zone.classList.remove("is-over");
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("[data-drop-zone]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("is-over");
    var input = zone.querySelector("input[type=file]");
    if (input && event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      var fileRadio = document.querySelector("#attach-form input[name='ev-source'][value='file']");
      if (fileRadio) fileRadio.checked = true;
      showName(zone, input);
    }
  });
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches("[data-drop-zone] input[type=file]")) {
      showName(input.closest("[data-drop-zone]"), input);
    }
  });

  // -- upload progress (htmx:xhr:progress fires on the form being sent) ------
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest("#attach-form");
    if (!form || !event.detail.lengthComputable) return;
    var bar = form.querySelector("[data-upload-progress]");
    if (!bar) return;
    var percent = Math.round((event.detail.loaded / event.detail.total) * 100);
    bar.hidden = false;
    bar.value = percent;
    bar.textContent = percent + " %";
  });

  // -- matrix cell editor: Escape closes it, focus goes back to the cell -----
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var form = event.target.closest && event.target.closest(".cell-form");
    if (!form) return;
    var cancel = form.querySelector(".cell-cancel");
    if (cancel) {
      event.preventDefault();
      cancel.click();
    }
  });
  // After the plain cell comes back (cancel), give the focus back to its button.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.tagName === "TD" && target.closest("#matrix")) {
      var button = target.querySelector(".cell-btn");
      if (button && !target.querySelector(".cell-form")) button.focus();
    }
  });
  // Matrix cells are plain links (no JavaScript: the page with the editor
  // open); with htmx, the editor comes into the cell itself. One handler for
  // every cell keeps the markup of a 24,000-cell matrix small.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("#matrix a.cell-btn");
    if (!link || !window.htmx || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var cell = link.closest("td");
    if (!cell || !cell.id) return;
    event.preventDefault();
    window.htmx.ajax("GET", link.href.split("#")[0], { target: "#" + cell.id, swap: "innerHTML" });
  });
  // Cells are links with role=button: Space activates them like a button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== " ") return;
    var cell = event.target.closest && event.target.closest("a.cell-btn");
    if (!cell) return;
    event.preventDefault();
    cell.click();
  });

  // -- the score explanation: its tables load when it is first opened, and
  // again after a rating changes the scores while it is open.
  function loadExplanation(details) {
    var body = details.querySelector("#matrix-explain-body");
    if (!window.htmx || !body) return;
    window.htmx.ajax("GET", details.dataset.explainUrl, { target: "#matrix-explain-body", swap: "outerHTML" });
  }
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.id !== "matrix-explain" || !details.open) return;
    if (!details.querySelector("#matrix-explain-body[data-loaded]")) loadExplanation(details);
  }, true);  // toggle does not bubble
  document.addEventListener("scores-changed", function () {
    var details = document.getElementById("matrix-explain");
    if (!details) return;
    if (details.open) {
      loadExplanation(details);
    } else {
      var body = details.querySelector("#matrix-explain-body");
      if (body) body.removeAttribute("data-loaded");  // reload when opened
    }
  });

  // The matrix comes back whole after a rating when sorted by diagnosticity:
  // an explanation that was open opens (and loads) again.
  var reopenExplanation = false;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "matrix") {
      var details = document.getElementById("matrix-explain");
      reopenExplanation = !!(details && details.open);
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!reopenExplanation) return;
    reopenExplanation = false;
    var details = document.getElementById("matrix-explain");
    if (details && !details.open) details.open = true;  // fires toggle: loads
  });

  // -- Escape closes an open action panel (<details>) and returns to its summary
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    var panel = event.target.closest && event.target.closest("details[open].action, details[open].add-panel");
    if (!panel) return;
    panel.open = false;
    var summary = panel.querySelector("summary");
    if (summary) summary.focus();
  });
})();
