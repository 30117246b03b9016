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

  // Auto-submit filter forms when one of their controls changes. requestSubmit() fires a real
  // submit event: htmx takes it for hx-get forms, the browser for plain ones.
  function bindAutosubmit(root) {
    root.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      if (form.dataset.autosubmitBound) return;
      form.dataset.autosubmitBound = "1";
      form.addEventListener("change", function () {
        if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.submit(); }
      });
    });
  }

  function init(root) {
    bindCounters(root);
    bindAutosubmit(root);
  }

  // One polite region for failures htmx would otherwise swallow (a 404, a dropped connection).
  function announce(text) {
    var region = document.getElementById("htmx-problem");
    if (!region) {
      region = document.createElement("div");
      region.id = "htmx-problem";
      region.className = "msg msg-error toast";
      region.setAttribute("role", "alert");
      document.body.appendChild(region);
    }
    region.textContent = text;
    region.hidden = false;
    window.clearTimeout(region._timer);
    region._timer = window.setTimeout(function () { region.hidden = true; }, 8000);
  }

  // Forms inside [data-swap-errors] get these answers swapped in like any other: the server
  // renders the row (or panel) unchanged with the reason (bad input 422, a change already
  // under way 409, Layers refused 502, no answer 504), and that is what to show.
  var SWAPPED_ERRORS = [409, 422, 502, 504];
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    var source = evt.detail.requestConfig && evt.detail.requestConfig.elt;  // who asked
    if (SWAPPED_ERRORS.indexOf(status) !== -1 && source && source.closest("[data-swap-errors]")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
  document.addEventListener("htmx:responseError", function (evt) {
    var status = evt.detail.xhr.status;
    announce(status === 404 ? "Not found: it may have been removed, or you no longer have access."
      : status === 403 ? "Not allowed (HTTP 403): your permissions or session changed. Reload the page."
      : "The request failed (HTTP " + status + "). Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    announce("No connection to layersadmin. Check your network and try again.");
  });

  // Keyboard users keep their place: after a swap, focus returns to the button they pressed
  // (same id in the new row), and "Load more" hands focus to the first new item.
  var pressedId = null;
  var loadingMore = false;
  document.addEventListener("click", function (evt) {
    if (!evt.target.closest) return;
    var button = evt.target.closest("form[data-keep-focus] button[id]");
    pressedId = button ? button.id : null;
    loadingMore = !!evt.target.closest(".load-more [hx-get]");
  }, true);
  document.addEventListener("htmx:afterSettle", function () {
    var active = document.activeElement;
    var lost = !active || active === document.body;
    if (pressedId && lost) {
      var again = document.getElementById(pressedId);
      if (again) { again.focus(); }
    } else if (loadingMore && lost) {
      var starts = document.querySelectorAll("[data-page-start]");
      if (starts.length > 1) { starts[starts.length - 1].focus(); }
    }
    pressedId = null;
    loadingMore = false;
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (evt) { init(evt.target); });
})();
