// Inquest behaviour shared by every page. No inline handlers: the CSP forbids them.
(function () {
  "use strict";

  // Forms marked data-drop-empty send only the fields that have a value, so
  // the URL pushed to the address bar stays short and readable.
  document.addEventListener("htmx:configRequest", function (event) {
    var source = event.detail.elt;
    var form = source && source.closest ? source.closest("[data-drop-empty]") : null;
    if (!form || (event.detail.verb || "").toLowerCase() !== "get") return;
    var params = event.detail.parameters;
    var names = [];
    if (params && typeof params.keys === "function") {
      for (var key of params.keys()) names.push(key);
    } else {
      names = Object.keys(params || {});
    }
    names.forEach(function (name) {
      var value = params.getAll ? params.getAll(name) : [params[name]];
      if (value.every(function (v) { return v === "" || v === null || v === undefined; })) {
        if (params.delete) params.delete(name); else delete params[name];
      }
    });
  });

  // Panels whose form loads when first opened (a hypothesis card's Move and
  // Confidence, the case's status moves, an annotation's Edit): the
  // <details data-load-on-open> holds a link marked data-load that htmx
  // follows; without JavaScript the link opens the page with that form.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.open || !details.matches || !details.matches("details[data-load-on-open]")) return;
    var link = details.querySelector("a[data-load]");
    if (link && window.htmx) link.click();
  }, true);  // toggle does not bubble

  // After a page with form errors loads, put the cursor in the first wrong field.
  document.addEventListener("DOMContentLoaded", function () {
    var wrong = document.querySelector("form [aria-invalid='true']");
    if (wrong && typeof wrong.focus === "function") wrong.focus();
  });
})();
