// Tables: labels for the phone cards, and keyboard shortcuts on tables of rows (issue 16).
// Loaded by templates/base.html next to app.js; no inline script (the CSP forbids it).
(function () {
  "use strict";

  // --- Phone cards -------------------------------------------------------------------------
  // At 640 px and below app.css draws each row of a table.data as a card, and a cell's
  // data-label (td::before) says which column it is. The label is the column's own header, as
  // the page rendered it (the creatives table's headers come from creatives/table.py COLUMNS),
  // so there is no second list of column names, and a row costs no extra bytes of HTML. A
  // header's aria-hidden marks (sort arrows) and its visually-hidden words are left out; a
  // header with no visible words (a thumbnail column), a cell spanning columns, or a cell that
  // already has a data-label gets none.
  function headerText(th) {
    var text = "";
    th.childNodes.forEach(function (node) {
      if (node.nodeType === Node.TEXT_NODE) {
        text += node.textContent;
      } else if (node.nodeType === Node.ELEMENT_NODE && node.getAttribute("aria-hidden") !== "true" &&
                 !node.classList.contains("visually-hidden")) {
        text += headerText(node);
      }
    });
    return text;
  }

  function labelTable(table) {
    var head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (!head) return;
    var labels = [];
    Array.prototype.forEach.call(head.cells, function (th) {
      var text = (th.dataset.label || headerText(th)).replace(/\s+/g, " ").trim();
      for (var i = 0; i < (th.colSpan || 1); i++) { labels.push(text); }
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (tr) {
        var column = 0;
        Array.prototype.forEach.call(tr.cells, function (cell) {
          var span = cell.colSpan || 1;
          if (span === 1 && labels[column] && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", labels[column]);
          }
          column += span;
        });
      });
    });
  }

  function labelTables(root) {
    var tables = [];
    if (root.closest) {
      var around = root.closest("table.data");  // a row swapped in on its own
      if (around) { tables.push(around); }
    }
    if (root.querySelectorAll) {
      root.querySelectorAll("table.data").forEach(function (t) { tables.push(t); });
    }
    tables.forEach(labelTable);
  }

  // --- Keyboard shortcuts on rows ------------------------------------------------------------
  // A page with a table[data-row-keys] (the creatives table, the leaderboards) and the dialog
  // of templates/partials/shortcuts.html gets: j / k next / previous row (the row takes focus,
  // with a visible ring, and scrolls into view); i / e / c press the focused row's Include /
  // Exclude / Clear button, whatever the row's markup: the button is found by
  // [data-row-action=<name>], else [data-override=<name>] (the rows of creative_list.html),
  // else button[name=override][value=<name>] (a per-row form), and clicked, so the shortcut
  // does exactly what a click does (static/js/decide.js opens the page's override dialog for
  // the row: Exclude its confirmation; focus returns to the row's button after the answer);
  // Enter on a focused row opens its first link; ? opens the list. They never fire while
  // typing in a field, with Ctrl / Alt / Meta held, or while a modal dialog is open. WCAG
  // 2.1.4: the dialog has a switch that turns every single-key shortcut off (? too), kept in
  // localStorage; the page's "Keyboard shortcuts" button opens the dialog either way.
  var STORE = "layersadmin.shortcuts";
  var ACTIONS = { i: "include", e: "exclude", c: "clear" };

  function enabled() {
    try { return window.localStorage.getItem(STORE) !== "off"; } catch (err) { return true; }
  }

  function remember(on) {
    try {
      if (on) { window.localStorage.removeItem(STORE); } else { window.localStorage.setItem(STORE, "off"); }
    } catch (err) { /* private mode: the switch holds for this page only */ }
    sessionOff = !on;
  }
  var sessionOff = false;

  function typing(target) {
    if (!target || !target.closest) return false;
    // A tick box or a button has focus, not a place to type: the shortcuts stay on there.
    return !!target.closest("input:not([type=checkbox]):not([type=radio]):not([type=button]):not([type=submit])" +
      ":not([type=reset]), textarea, select, [contenteditable=''], [contenteditable='true'], [role=textbox]");
  }

  function rowTable() {
    return document.querySelector("table[data-row-keys]");
  }

  function rows(table) {
    return Array.prototype.filter.call(table.tBodies.length ? table.tBodies[0].rows : [], function (tr) {
      return !tr.classList.contains("load-more-row") && tr.cells.length > 1 && tr.offsetParent !== null;
    });
  }

  function focusRow(tr) {
    if (!tr.hasAttribute("tabindex")) { tr.setAttribute("tabindex", "-1"); }
    tr.setAttribute("data-row-focus", "");
    tr.focus({ preventScroll: true });
    tr.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var table = rowTable();
    if (!table) return false;
    var list = rows(table);
    if (!list.length) return false;
    var current = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("tr") : null;
    var at = list.indexOf(current);
    if (at === -1) {
      focusRow(step > 0 ? list[0] : list[list.length - 1]);
      return true;
    }
    var next = at + step;
    if (next >= list.length) {
      // Past the last row: "Load more", when there is one (Enter then loads and focuses the first new row).
      var more = table.querySelector(".load-more-row a, .load-more-row button");
      if (more) { more.focus(); more.scrollIntoView({ block: "nearest" }); }
      return true;
    }
    if (next >= 0) { focusRow(list[next]); }
    return true;
  }

  function actionButton(tr, name) {
    var found = tr.querySelector("[data-row-action='" + name + "']") ||
      tr.querySelector("[data-override='" + name + "']") ||
      tr.querySelector("button[name=override][value='" + name + "']");
    return found && !found.disabled && found.getAttribute("aria-disabled") !== "true" ? found : null;
  }

  function currentRow() {
    var table = rowTable();
    var active = document.activeElement;
    if (!table || !active || !active.closest) return null;
    var tr = active.closest("tr");
    return tr && table.contains(tr) && rows(table).indexOf(tr) !== -1 ? tr : null;
  }

  function dialog() {
    return document.getElementById("shortcuts-dialog");
  }

  function openDialog(opener) {
    var box = dialog();
    if (!box || box.open) return;
    var toggle = box.querySelector("[data-shortcuts-toggle]");
    if (toggle) { toggle.checked = enabled() && !sessionOff; }
    box._opener = opener || document.activeElement;
    box.showModal();
  }

  document.addEventListener("keydown", function (evt) {
    if (evt.defaultPrevented || evt.ctrlKey || evt.metaKey || evt.altKey || evt.isComposing) return;
    if (!dialog() || !enabled() || sessionOff) return;
    if (typing(evt.target) || document.querySelector("dialog[open]")) return;
    var key = evt.key;
    if (key === "?") {
      evt.preventDefault();
      openDialog();
      return;
    }
    if (evt.shiftKey) return;
    if (key === "j" || key === "k") {
      if (move(key === "j" ? 1 : -1)) { evt.preventDefault(); }
      return;
    }
    var tr = currentRow();
    if (!tr) return;
    if (key === "Enter" && evt.target === tr) {
      var link = tr.querySelector("a[href]");
      if (link) { evt.preventDefault(); link.click(); }
      return;
    }
    if (ACTIONS[key] && !evt.repeat) {
      var button = actionButton(tr, ACTIONS[key]);
      if (!button) return;
      evt.preventDefault();
      // Focus goes to the button first, so whatever the click opens (the exclude confirmation)
      // hands focus back to it, inside the row, and app.js puts it back there after the swap.
      button.focus();
      button.click();
    }
  });

  document.addEventListener("click", function (evt) {
    if (!evt.target.closest) return;
    var opener = evt.target.closest("[data-shortcuts-open]");
    if (opener) { openDialog(opener); return; }
    var box = evt.target.closest("#shortcuts-dialog");
    if (box && evt.target.closest("[data-shortcuts-close]")) { box.close(); }
  });

  document.addEventListener("change", function (evt) {
    if (evt.target.matches && evt.target.matches("[data-shortcuts-toggle]")) {
      remember(evt.target.checked);
    }
  });

  document.addEventListener("close", function (evt) {
    var box = evt.target;
    if (box.id !== "shortcuts-dialog") return;
    if (box._opener && document.contains(box._opener) && box._opener.focus) { box._opener.focus(); }
    box._opener = null;
  }, true);

  // A focused row loses its mark (and its focus ring rule) when focus leaves it.
  document.addEventListener("focusout", function (evt) {
    var tr = evt.target;
    if (tr.hasAttribute && tr.hasAttribute("data-row-focus")) { tr.removeAttribute("data-row-focus"); }
  });

  document.addEventListener("DOMContentLoaded", function () { labelTables(document); });
  document.addEventListener("htmx:load", function (evt) { labelTables(evt.target); });
})();
