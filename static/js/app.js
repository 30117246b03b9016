// layersadmin front-end behaviour. No inline scripts anywhere: the Content-Security-Policy forbids them.
(function () {
  "use strict";

  // Live character counters: <textarea data-counter="ID" maxlength="N"> updates #ID.
  function bindCounters(root) {
    root.querySelectorAll("[data-counter]").forEach(function (field) {
      if (field.dataset.counterBound) return;
      field.dataset.counterBound = "1";
      var out = document.getElementById(field.dataset.counter);
      var max = parseInt(field.getAttribute("maxlength") || "0", 10);
      function update() {
        if (!out) return;
        var left = max - field.value.length;
        out.textContent = field.value.length + " / " + max;
        out.classList.toggle("over", left < 0);
      }
      field.addEventListener("input", update);
      update();
    });
  }

  // Auto-submit filter forms when a control marked data-autosubmit changes.
  function bindAutosubmit(root) {
    root.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      if (form.dataset.autosubmitBound) return;
      form.dataset.autosubmitBound = "1";
      form.addEventListener("change", function () {
        if (window.htmx) { window.htmx.trigger(form, "submit"); } else { form.submit(); }
      });
    });
  }

  function init(root) {
    bindCounters(root);
    bindAutosubmit(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (evt) { init(evt.target); });
})();
