// Content review (templates/creatives/review_queue.html, gallery.html): one approve / reject
// dialog per page (templates/creatives/partials/review_dialog.html) instead of two forms per
// pending item (issue 16). Loaded only by those pages; no inline script (the CSP forbids it).
(function () {
  "use strict";

  // An item's Approve… / Reject… button belongs to the hidden GET form "rv": without JavaScript
  // it opens the server's page asking for the note or reason (its formaction). Here a click
  // opens #review-dialog instead, filled for that item: the POST goes to the same URL (the
  // item's approve or reject view, unchanged), a fresh form token per opening (a double click
  // sends once; the next decision is a new operation), approve's confirmation, the item's
  // caption, and what was typed before a decision that did not go through.
  var opener = null;   // the item's button that opened the dialog, for focus on cancel
  var pending = null;  // {block: id, action: name} of the decision on its way, for focus after

  function token() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  function field(form, name) { return form.querySelector("[name='" + name + "']"); }

  function openReview(button, text) {
    var dialog = document.getElementById("review-dialog");
    var block = button.closest(".review-actions");
    if (!dialog || !block || typeof dialog.showModal !== "function" || !window.htmx) return false;
    var form = dialog.querySelector("form[data-review-form]");
    var action = button.dataset.review;
    var url = button.getAttribute("formaction");
    form.setAttribute("action", url);
    form.setAttribute("hx-post", url);
    form.setAttribute("hx-target", "#" + block.id);
    window.htmx.process(form);  // htmx reads hx-post when it processes the form
    field(form, "form_token").value = token();
    field(form, "confirm").value = action === "approve" ? "yes" : "";
    dialog.querySelectorAll("[data-mode]").forEach(function (part) {
      part.hidden = part.dataset.mode !== action;
    });
    dialog.setAttribute("aria-labelledby", "rvd-title-" + action);
    var item = block.closest("[aria-label]");
    dialog.querySelector("[data-rvd-name]").textContent = item ? item.getAttribute("aria-label") : "";
    var label = dialog.querySelector("[data-rvd-label]");
    label.textContent = label.dataset[action];
    var submit = dialog.querySelector("[data-rvd-submit]");
    submit.textContent = submit.dataset[action];
    submit.className = "btn " + (action === "approve" ? "btn-ok" : "btn-bad");
    var textarea = field(form, "text");
    textarea.required = action === "reject";
    if (text === undefined) { text = block.dataset.textFor === action ? block.dataset.text || "" : ""; }
    textarea.value = text;
    textarea.dispatchEvent(new Event("input"));  // app.js's counter counts it
    opener = button;
    if (dialog.open) { dialog.close(); }
    dialog.showModal();
    textarea.focus();
    return true;
  }

  document.addEventListener("click", function (evt) {
    if (!evt.target.closest) return;
    var button = evt.target.closest("button[form='rv'][data-review]");
    if (button) {
      if (openReview(button)) { evt.preventDefault(); }
      return;
    }
    if (evt.target.closest("#review-dialog [data-rvd-cancel]")) {
      document.getElementById("review-dialog").close("cancel");
    }
  });

  // Sent: the dialog closes and the answer replaces the item's block.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.matches || !form.matches("form[data-review-form]")) return;
    var dialog = form.closest("dialog");
    pending = {
      block: (form.getAttribute("hx-target") || "").slice(1),
      action: field(form, "confirm").value === "yes" ? "approve" : "reject",
    };
    if (dialog && dialog.open) { dialog.close("sent"); }
  });

  document.addEventListener("close", function (evt) {
    var dialog = evt.target;
    if (dialog.id !== "review-dialog") return;
    if (dialog.returnValue !== "sent" && opener && document.contains(opener)) { opener.focus(); }
    dialog.returnValue = "";
    opener = null;
  }, true);

  // After the swap, focus goes to the item's button of the same action, else to its answer.
  document.addEventListener("htmx:afterSettle", function () {
    if (!pending) return;
    var block = document.getElementById(pending.block);
    var active = document.activeElement;
    if (block && (!active || active === document.body)) {
      var again = block.querySelector("[data-review='" + pending.action + "']");
      var said = block.querySelector("[role=status], [role=alert]");
      if (again) { again.focus(); } else if (said) { said.tabIndex = -1; said.focus(); }
    }
    pending = null;
  });

  // An answer that refused the input (422) asks again: the dialog reopens with what was typed.
  function askAgain(root) {
    var blocks = root.matches && root.matches(".review-actions[data-ask]") ? [root] : [];
    if (root.querySelectorAll) { root.querySelectorAll(".review-actions[data-ask]").forEach(function (b) { blocks.push(b); }); }
    blocks.forEach(function (block) {
      var button = block.querySelector("[data-review='" + block.dataset.ask + "']");
      block.removeAttribute("data-ask");
      if (button) { openReview(button, block.dataset.text || ""); }
    });
  }

  document.addEventListener("htmx:load", function (evt) { askAgain(evt.target); });
})();
