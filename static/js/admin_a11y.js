// Accessible names Django's admin widgets leave out (templates/admin/base_site.html; found by
// axe-core in tests/browser/test_phone_and_axe.py, docs/ACCESSIBILITY.md). No inline script:
// the CSP forbids it.
// - A split date / time field (AdminSplitDateTime) writes "Date:" and "Time:" as plain text
//   beside its two inputs, with no <label>: each input gets "<field>, date" / "<field>, time".
// - The filter widget (filter_horizontal, SelectFilter2.js) puts an aria-label on a bare
//   <span> search icon, where ARIA does not allow one: the span is given role="img", so the
//   name it carries is a valid one. SelectFilter2 builds it on window load, so this runs after.
(function () {
  "use strict";

  function fieldName(el) {
    var row = el.closest(".form-row, fieldset");
    var label = row && row.querySelector("label, legend");
    return label ? label.textContent.replace(/[:\s]+$/, "").trim() : "";
  }

  function nameSplitDateTimes() {
    document.querySelectorAll("p.datetime input").forEach(function (input) {
      if (input.labels && input.labels.length) return;
      if (input.hasAttribute("aria-label") || input.hasAttribute("aria-labelledby")) return;
      var before = input.previousSibling;
      while (before && before.nodeType === Node.TEXT_NODE && !before.textContent.trim()) {
        before = before.previousSibling;
      }
      var part = before && before.nodeType === Node.TEXT_NODE ? before.textContent.replace(/[:\s]+$/, "").trim() : "";
      var name = fieldName(input);
      input.setAttribute("aria-label", [name, part.toLowerCase()].filter(Boolean).join(", "));
    });
  }

  function fixIcons() {
    document.querySelectorAll("span.search-label-icon[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  }

  document.addEventListener("DOMContentLoaded", nameSplitDateTimes);
  window.addEventListener("load", function () { window.setTimeout(fixIcons, 0); });
})();
