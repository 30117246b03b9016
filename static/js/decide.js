// The decision tables (templates/creatives/creative_list.html, agency_creatives.html): one
// shared override dialog for every row, and the bulk bar's selection (issues 15 and 16).
// Loaded only by those pages; no inline script anywhere (the CSP forbids it).
(function () {
  "use strict";

  // --- One override dialog per page ----------------------------------------------------------
  // A row's Include / Exclude / Clear button belongs to the hidden GET form "ov" (without
  // JavaScript it opens the server's own question page). Here a click opens #override-dialog
  // instead, filled for that row: which creative (the button's value), which change (its
  // data-override), a fresh form token (one per opening: a double click sends once, and the
  // next change is a new operation), its title and running ads, and the note kept from a
  // change that failed (the row's data-note). Exclude opens the same question the single
  // exclusion always asked (running ads keep running) with focus on the safe choice.
  var LABELS = { include: "Include", exclude: "Exclude", clear: "Clear" };
  var CLASSES = { include: "btn-ok", exclude: "btn-bad", clear: "" };
  var opener = null;     // the row button that opened the dialog, for focus on cancel
  var pending = null;    // {row: id, action: name} of the change on its way, for focus after

  function token() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  function field(form, name) { return form.querySelector("[name='" + name + "']"); }

  function openChange(button, note) {
    var dialog = document.getElementById("override-dialog");
    var tr = button.closest("tr");
    if (!dialog || !tr || typeof dialog.showModal !== "function") return false;
    var form = dialog.querySelector("form[data-override-form]");
    var action = button.dataset.override;
    field(form, "creative").value = button.value;
    field(form, "override").value = action;
    field(form, "form_token").value = token();
    field(form, "confirmed").value = action === "exclude" ? "exclude" : "";
    form.setAttribute("hx-target", "#" + tr.id);
    dialog.querySelectorAll("[data-mode]").forEach(function (block) {
      block.hidden = block.dataset.mode !== action;
    });
    dialog.setAttribute("aria-labelledby", "ovd-title-" + action);
    var title = tr.querySelector("a[id^='t']");
    dialog.querySelector("[data-ovd-name]").textContent = title ? title.textContent : "";
    var running = dialog.querySelector("[data-ovd-running]");
    running.textContent = button.dataset.running ? "Running now: " + button.dataset.running + "." : "";
    running.hidden = !button.dataset.running;
    var submit = dialog.querySelector("[data-ovd-submit]");
    submit.textContent = LABELS[action];
    submit.className = "btn " + CLASSES[action];
    var textarea = field(form, "note");
    textarea.value = note !== undefined ? note : (tr.dataset.note || "");
    textarea.dispatchEvent(new Event("input"));  // app.js's counter counts it
    opener = button;
    if (dialog.open) { dialog.close(); }
    dialog.showModal();
    (action === "exclude" ? dialog.querySelector("[data-ovd-cancel]") : textarea).focus();
    return true;
  }

  document.addEventListener("click", function (evt) {
    if (!evt.target.closest) return;
    var button = evt.target.closest("button[form='ov'][data-override]");
    if (button) {
      if (openChange(button)) { evt.preventDefault(); }
      return;
    }
    if (evt.target.closest("#override-dialog [data-ovd-cancel]")) {
      document.getElementById("override-dialog").close("cancel");
    }
  });

  // Sent: the dialog closes and the answer (the row, re-read) replaces the row.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.matches || !form.matches("form[data-override-form]")) return;
    var dialog = form.closest("dialog");
    var target = (form.getAttribute("hx-target") || "").slice(1);
    pending = { row: target, action: field(form, "override").value };
    if (dialog && dialog.open) { dialog.close("sent"); }
  });

  document.addEventListener("close", function (evt) {
    var dialog = evt.target;
    if (dialog.id !== "override-dialog") return;
    if (dialog.returnValue !== "sent" && opener && document.contains(opener)) { opener.focus(); }
    dialog.returnValue = "";
    opener = null;
  }, true);

  // After the swap, focus goes back to the row's button of the same change (or its first).
  document.addEventListener("htmx:afterSettle", function () {
    if (!pending) return;
    var tr = document.getElementById(pending.row);
    var active = document.activeElement;
    if (tr && (!active || active === document.body)) {
      var again = tr.querySelector("[data-override='" + pending.action + "']") || tr.querySelector("[data-override]");
      if (again) { again.focus(); }
    }
    pending = null;
  });

  // A row the server sent back asking first (an unconfirmed exclusion) opens the question.
  function askRows(root) {
    var rows = root.matches && root.matches("tr[data-ask]") ? [root] : [];
    if (root.querySelectorAll) { root.querySelectorAll("tr[data-ask]").forEach(function (r) { rows.push(r); }); }
    rows.forEach(function (tr) {
      var button = tr.querySelector("[data-override='" + tr.dataset.ask + "']");
      tr.removeAttribute("data-ask");
      if (button) { openChange(button, tr.dataset.note || ""); }
    });
  }

  // --- The bulk bar ----------------------------------------------------------------------------
  // Each row's box belongs to #bulk-form (form="bulk-form"); the header's select-all box (shown
  // only here) ticks every row of the page. The bar says how many are ticked, and its buttons
  // wait for one. After a bulk action is queued the boxes and the note are cleared: the
  // progress below the controls (#bulk-region) names the rows.
  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll("input[name=ids][form='bulk-form']"));
  }

  function refreshBar() {
    var form = document.getElementById("bulk-form");
    if (!form) return;
    var all = boxes();
    var ticked = all.filter(function (b) { return b.checked; }).length;
    var count = form.querySelector("[data-bulk-count]");
    if (count) {
      count.textContent = ticked ? ticked + " selected" : "Tick rows to change several at once.";
    }
    var text = form.querySelector("[data-bulk-count-text]");
    if (text) { text.textContent = ticked + " creative" + (ticked === 1 ? "" : "s") + " selected."; }
    form.querySelectorAll("[data-bulk-action]").forEach(function (b) { b.disabled = !ticked; });
    document.querySelectorAll("[data-select-all]").forEach(function (box) {
      box.hidden = false;
      box.checked = ticked > 0 && ticked === all.length;
      box.indeterminate = ticked > 0 && ticked < all.length;
    });
  }

  document.addEventListener("change", function (evt) {
    var target = evt.target;
    if (!target.matches) return;
    if (target.matches("[data-select-all]")) {
      boxes().forEach(function (b) { b.checked = target.checked; });
      refreshBar();
    } else if (target.matches("input[name=ids][form='bulk-form']")) {
      refreshBar();
    }
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (!form || form.id !== "bulk-form" || !evt.detail.successful) return;
    boxes().forEach(function (b) { b.checked = false; });
    var note = form.querySelector("textarea[name=note]");
    if (note) { note.value = ""; note.dispatchEvent(new Event("input")); }
    window.setTimeout(refreshBar, 0);  // after htmx gives the buttons back (hx-disabled-elt)
  });

  function init(root) {
    askRows(root);
    refreshBar();
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (evt) { init(evt.target); });
})();
