// Cards: table rows (add, remove, move), choosing a linked document in a picker, and the
// card's rules mirrored as the user types. The server decides everything; this only edits
// the form and shows what the server answered.
(function () {
  "use strict";

  // Table rows are named <table>.<index>.<column>; after a row is added, removed or moved
  // the indexes are renumbered in the order shown, which is the order saved.
  function renumber(field) {
    var key = field.getAttribute("data-table-field");
    var prefix = new RegExp("^" + key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "\\.(\\d+|__index__)\\.");
    var rows = field.querySelectorAll("[data-rows] > [data-row]");
    rows.forEach(function (row, index) {
      row.querySelectorAll("[name]").forEach(function (input) {
        input.name = input.name.replace(prefix, key + "." + index + ".");
        if (input.id && input.id.indexOf("f-" + key + ".") === 0) input.id = "f-" + input.name;
      });
    });
    field.setAttribute("data-next-row", String(rows.length));
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;

    var add = target.closest("[data-add-row]");
    if (add) {
      var field = add.closest("[data-table-field]");
      var template = field.querySelector("template[data-row-template]");
      var rows = field.querySelector("[data-rows]");
      var next = Number(field.getAttribute("data-next-row") || rows.children.length);
      field.setAttribute("data-next-row", String(next + 1));
      var html = template.innerHTML.split("__index__").join(String(next));
      rows.insertAdjacentHTML("beforeend", html);
      var first = rows.lastElementChild && rows.lastElementChild.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
      return;
    }

    var remove = target.closest("[data-remove-row]");
    if (remove) {
      var row = remove.closest("[data-row]");
      var table = remove.closest("[data-table-field]");
      if (row) row.remove();
      if (table) {
        renumber(table);
        changed(table.closest("form"));
        var button = table.querySelector("[data-add-row]");
        if (button) button.focus();
      }
      return;
    }

    var move = target.closest("[data-move-row]");
    if (move) {
      var moved = move.closest("[data-row]");
      var up = move.getAttribute("data-move-row") === "up";
      var sibling = up ? moved.previousElementSibling : moved.nextElementSibling;
      if (sibling) {
        if (up) sibling.before(moved); else sibling.after(moved);
        var owner = moved.closest("[data-table-field]");
        renumber(owner);
        changed(owner.closest("form"));
        move.focus();
      }
      return;
    }

    var choice = target.closest("[data-pick-value]");
    if (choice) {
      var picker = choice.closest("[data-picker]");
      picker.querySelector("[data-picker-value]").value = choice.getAttribute("data-pick-value");
      var label = picker.querySelector("[data-picker-label]");
      label.value = choice.getAttribute("data-pick-label");
      picker.querySelector(".picker-choices").innerHTML = "";
      label.focus();
      changed(picker.closest("form"));
    }
  });

  // Clearing a picker's text clears its value too.
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.hasAttribute("data-picker-label") && target.value === "") {
      target.closest("[data-picker]").querySelector("[data-picker-value]").value = "";
    }
  });

  // The card's rules: after the user pauses typing, the form goes to the server, which
  // answers with each field's state, the computed fields and the tables' formula cells.
  var timers = new WeakMap();
  var sequence = 0;

  function changed(form) {
    if (!form || !form.hasAttribute("data-card-form")) return;
    clearTimeout(timers.get(form));
    timers.set(form, setTimeout(function () { refresh(form); }, 300));
  }

  function refresh(form) {
    var mine = ++sequence;
    var data = new FormData(form);
    var token = data.get("csrf_token") || "";
    fetch(form.getAttribute("data-rules-url"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": token, "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (answer && mine === sequence) apply(form, answer);
    }).catch(function () { /* offline: the server checks everything on save anyway */ });
  }

  function apply(form, answer) {
    Object.keys(answer.fields).forEach(function (key) {
      var state = answer.fields[key];
      var field = form.querySelector('[data-field="' + CSS.escape(key) + '"]');
      if (!field) return;
      field.hidden = !state.visible;
      if (state.locked) { field.setAttribute("inert", ""); field.setAttribute("data-locked", ""); }
      else { field.removeAttribute("inert"); field.removeAttribute("data-locked"); }
      var mark = field.querySelector("[data-required-mark]");
      if (mark) mark.hidden = !state.required;
    });
    Object.keys(answer.computed).forEach(function (key) {
      var shown = form.querySelector('[data-computed="' + CSS.escape(key) + '"]');
      if (shown) shown.textContent = answer.computed[key];
    });
    Object.keys(answer.tables).forEach(function (key) {
      var table = form.querySelector('[data-table-field="' + CSS.escape(key) + '"]');
      if (!table) return;
      var rows = table.querySelectorAll("[data-rows] > [data-row]");
      answer.tables[key].rows.forEach(function (cells, index) {
        if (!rows[index]) return;
        Object.keys(cells).forEach(function (column) {
          var cell = rows[index].querySelector('[data-cell="' + CSS.escape(column) + '"]');
          if (cell) cell.textContent = cells[column];
        });
      });
      var totals = answer.tables[key].totals;
      Object.keys(totals).forEach(function (column) {
        var cell = table.querySelector('[data-total="' + CSS.escape(column) + '"]');
        if (cell) cell.textContent = totals[column];
      });
    });
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target instanceof Element && !target.hasAttribute("data-picker-label")) {
      changed(target.closest("form"));
    }
  });
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof Element) changed(target.closest("form"));
  });
})();
