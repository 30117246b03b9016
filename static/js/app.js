// layersadmin front-end behaviour. No inline scripts anywhere: the Content-Security-Policy forbids them.
(function () {
  "use strict";

  // Live character counters: <textarea data-counter="ID" data-max="N"> updates #ID to "n / N".
  // n is creatives/notes.py's note_length, counted the same way so the page and the server
  // never disagree: line breaks to LF (a textarea's value already has LF only, but a script may
  // set CR), NULs removed, then stripped of exactly Python's str.strip() whitespace (NOTE_WHITESPACE
  // there; not trim(), which strips U+FEFF and keeps U+001C-U+001F and U+0085), then UTF-16
  // code units, which is .length: an emoji counts two, and never fewer than the code points.
  // N comes from the page (rendered from NOTE_MAX_LENGTH); maxlength is read for older markup.
  var NOTE_WHITESPACE = "\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680" +
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" +
    "\u2028\u2029\u202f\u205f\u3000";

  function noteNormalise(text) {
    text = text.replace(/\r\n/g, "\n").replace(/\r/g, "\n").replace(/\u0000/g, "");
    var start = 0;
    var end = text.length;
    while (start < end && NOTE_WHITESPACE.indexOf(text.charAt(start)) !== -1) { start++; }
    while (end > start && NOTE_WHITESPACE.indexOf(text.charAt(end - 1)) !== -1) { end--; }
    return text.slice(start, end);
  }

  function noteLength(text) {
    return noteNormalise(text).length;  // UTF-16 units >= code points, so this is the max
  }

  function bindCounters(root) {
    root.querySelectorAll("[data-counter]").forEach(function (field) {
      if (field.dataset.counterBound) return;
      field.dataset.counterBound = "1";
      var out = document.getElementById(field.dataset.counter);
      var max = parseInt(field.dataset.max || field.getAttribute("maxlength") || "0", 10);
      function update() {
        if (!out) return;
        var length = noteLength(field.value);
        out.textContent = length + " / " + max;
        out.classList.toggle("over", length > max);
      }
      field.addEventListener("input", update);
      update();
    });
  }

  // Auto-submit filter forms when one of their controls changes, and as you type in a search
  // box (after a 400 ms pause). requestSubmit() fires a real submit event: htmx takes it for
  // hx-get forms, the browser for plain ones. One interaction sends one request: Enter in a box
  // fires "change" and then submits the form itself (the double request of issue 16), a blur
  // after typing fires "change" for a value the pause already sent, and a history restore may
  // fire "change" on a form it just removed. So a change or a pause submits only once its own
  // event is over and the form was not submitted meanwhile, while the form is in the page, and
  // when the query differs from the one last sent (or shown: the page's own).
  function formQuery(form) {
    return new URLSearchParams(new FormData(form)).toString();
  }

  function bindAutosubmit(root) {
    root.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      if (form.dataset.autosubmitBound) return;
      form.dataset.autosubmitBound = "1";
      var sent = formQuery(form);
      var timer = null;
      function submitSoon(delay) {
        window.clearTimeout(timer);
        timer = window.setTimeout(function () {
          timer = null;
          if (!form.isConnected || formQuery(form) === sent) return;
          if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.submit(); }
        }, delay);
      }
      form.addEventListener("submit", function () {
        window.clearTimeout(timer);
        timer = null;
        sent = formQuery(form);
      });
      form.addEventListener("change", function () { submitSoon(0); });
      form.addEventListener("input", function (evt) {
        if (evt.target.matches && evt.target.matches("input[type=search]")) { submitSoon(400); }
      });
    });
  }

  // Stale results dim while newer ones load: the region an htmx request will replace (a
  // .results region, or the creatives listing a sort header swaps) is aria-busy="true" until
  // the request ends (answered, failed or replaced by a newer one); app.css dims it.
  function busyRegion(evt) {
    var target = evt.detail && evt.detail.target;
    return target && target.matches && target.matches(".results, #creative-listing") ? target : null;
  }
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var region = busyRegion(evt);
    if (region) { region.setAttribute("aria-busy", "true"); }
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var region = busyRegion(evt);
    if (region) { region.removeAttribute("aria-busy"); }
  });

  // Confirm before excluding (templates/creatives/partials/override_form.html): a button with
  // data-confirm="ID" opens <dialog id=ID> as a modal instead of sending its form. The dialog
  // sits inside the same form, so its data-confirm-submit button sends that form (the note
  // with it, through htmx when the form has hx-post) after enabling the data-confirm-flag
  // input (confirmed=exclude); data-confirm-cancel or Escape closes it and nothing is sent.
  // A dialog the server rendered open (it asked for the confirmation itself) is made modal.
  function openConfirm(dialog) {
    var flag = dialog.querySelector("[data-confirm-flag]");
    if (flag) { flag.disabled = true; }
    if (dialog.open) { dialog.close(); }
    if (typeof dialog.showModal === "function") { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
  }

  function bindConfirms(root) {
    var dialogs = root.matches && root.matches("dialog[data-confirm-dialog]") ? [root] : [];
    root.querySelectorAll("dialog[data-confirm-dialog]").forEach(function (d) { dialogs.push(d); });
    dialogs.forEach(function (dialog) {
      if (dialog.open && !dialog.dataset.confirmBound) { openConfirm(dialog); }
      dialog.dataset.confirmBound = "1";
    });
  }

  var confirmOpener = null;
  document.addEventListener("click", function (evt) {
    if (!evt.target.closest) return;
    var opener = evt.target.closest("button[data-confirm]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.confirm);
      if (!dialog) return;  // no dialog on this page: the form goes, the server asks instead
      evt.preventDefault();
      confirmOpener = opener;
      openConfirm(dialog);
      return;
    }
    var inside = evt.target.closest("dialog[data-confirm-dialog]");
    if (!inside) return;
    if (evt.target.closest("[data-confirm-submit]")) {
      var flag = inside.querySelector("[data-confirm-flag]");
      if (flag) { flag.disabled = false; }
      // Focus goes back to the row's Exclude button once the answer is swapped in.
      var back = inside.id ? document.querySelector("[data-confirm='" + inside.id + "']") : null;
      pressedId = back && back.id ? back.id : pressedId;
      inside.close("confirm");  // the click goes on to submit the form
    } else if (evt.target.closest("[data-confirm-cancel]")) {
      inside.close("cancel");
    }
  });
  document.addEventListener("close", function (evt) {
    var dialog = evt.target;
    if (!dialog.matches || !dialog.matches("dialog[data-confirm-dialog]")) return;
    if (dialog.returnValue !== "confirm") {
      var flag = dialog.querySelector("[data-confirm-flag]");
      if (flag) { flag.disabled = true; }  // cancelled (button or Escape): nothing is sent
      if (confirmOpener && document.contains(confirmOpener)) { confirmOpener.focus(); }
    }
    dialog.returnValue = "";
    confirmOpener = null;
  }, true);

  function init(root) {
    bindCounters(root);
    bindAutosubmit(root);
    bindConfirms(root);
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

  // Content review (creatives/review_views.py): "Layers is busy, nothing was sent" (429) is
  // shown in the card too, like the answers SWAPPED_ERRORS lists.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var source = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    if (evt.detail.xhr.status === 429 && source && source.closest(".review-actions")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (evt) { init(evt.target); });
})();
