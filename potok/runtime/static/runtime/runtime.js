// Cards: adding and removing table rows, and choosing a linked document in a picker.
// The server decides everything; this only edits the form.
(function () {
  "use strict";

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
      var button = table && table.querySelector("[data-add-row]");
      if (button) button.focus();
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
    }
  });

  // Clearing a picker's text clears its value too.
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.hasAttribute("data-picker-label") && target.value === "") {
      target.closest("[data-picker]").querySelector("[data-picker-value]").value = "";
    }
  });
})();
