// Potok's own small script: the phone menu, the current tab in view, and confirmations
// for destructive buttons.
// Everything else is server-rendered HTML with htmx; the CSP forbids inline scripts.
(function () {
  "use strict";

  function setUpMenu() {
    var toggle = document.querySelector(".menu-toggle");
    var nav = document.getElementById("main-nav");
    if (!toggle || !nav) return;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", open ? "false" : "true");
      nav.classList.toggle("is-open", !open);
    });
  }

  // On a phone the section tabs scroll sideways: bring the current one into view.
  function showCurrentTab() {
    var tabs = document.querySelectorAll(".subnav");
    for (var i = 0; i < tabs.length; i++) {
      var strip = tabs[i];
      var current = strip.querySelector("[aria-current='page']");
      if (current && strip.scrollWidth > strip.clientWidth) {
        strip.scrollLeft = current.offsetLeft - strip.offsetLeft - (strip.clientWidth - current.offsetWidth) / 2;
      }
    }
  }

  // <button data-confirm="Delete?"> asks before its form is submitted.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  function setUp() {
    setUpMenu();
    showCurrentTab();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
