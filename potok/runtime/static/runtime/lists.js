// The list screen: tick every row of the page at once, show only the bulk-action inputs that
// apply to the chosen action and field, and apply the "group by" choice as soon as it changes.
// Everything works without this file too (all inputs shown, a button to press).
(function () {
  "use strict";

  function syncBulk(form) {
    var action = form.querySelector("[data-bulk-action]");
    var field = form.querySelector("[data-bulk-field]");
    form.querySelectorAll("[data-bulk-part]").forEach(function (part) {
      var wrongAction = !action || part.getAttribute("data-bulk-part") !== action.value;
      var value = part.getAttribute("data-bulk-value");
      var wrongField = value !== null && (!field || value !== field.value);
      part.hidden = wrongAction || wrongField;
    });
  }

  function init() {
    var form = document.getElementById("bulk-form");
    if (form) {
      syncBulk(form);
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLElement)) {
      return;
    }
    if (target.matches("[data-select-all]")) {
      document.querySelectorAll('input[name="ids"][form="bulk-form"]').forEach(function (box) {
        box.checked = target.checked;
      });
    }
    if (target.matches("[data-autosubmit]") && target.form) {
      target.form.submit();
    }
    var bulk = target.closest("#bulk-form");
    if (bulk) {
      syncBulk(bulk);
    }
  });
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", init);
})();
