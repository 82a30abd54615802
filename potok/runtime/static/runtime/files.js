// The card's files panel (runtime/_files_panel.html): files dropped onto the panel are
// uploaded, and the panel's forms (upload, remove) are sent with fetch and answered with the
// panel itself, which replaces the old one. Without this script the forms work as usual.
(function () {
  "use strict";

  function panelOf(node) {
    return node && node.closest ? node.closest("[data-files-panel]") : null;
  }

  function tokenOf(panel) {
    var field = panel.querySelector("input[name='csrf_token']");
    return field ? field.value : "";
  }

  function say(panel, text) {
    var status = panel.querySelector("[data-files-status]");
    if (!status) return;
    status.textContent = text;
    status.hidden = !text;
  }

  function hint(panel, shown) {
    var element = panel.querySelector("[data-files-hint]");
    if (element) element.hidden = !shown;
  }

  function replace(panel, html) {
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector("[data-files-panel]");
    if (!fresh) return false;
    panel.replaceWith(fresh);
    var problems = fresh.querySelector("#files-errors");
    if (problems) problems.focus();
    return true;
  }

  function send(panel, url, body) {
    say(panel, panel.getAttribute("data-files-sending") || "");
    var busy = panel.querySelectorAll("button");
    for (var i = 0; i < busy.length; i++) busy[i].disabled = true;
    function failed() {
      for (var j = 0; j < busy.length; j++) busy[j].disabled = false;
      say(panel, panel.getAttribute("data-files-failed") || "");
    }
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": tokenOf(panel), "HX-Request": "true" },
    })
      .then(function (response) {
        if (response.status !== 200 && response.status !== 400) {
          failed();
          return;
        }
        return response.text().then(function (html) {
          if (!replace(panel, html)) failed();
        });
      })
      .catch(failed);
  }

  // Files over the limit are refused here at once, rather than after sending them.
  function tooLarge(panel, files) {
    var limit = parseInt(panel.getAttribute("data-files-limit") || "0", 10);
    var message = panel.getAttribute("data-files-too-large") || "";
    for (var i = 0; i < files.length; i++) {
      if (limit && files[i].size > limit) return message.replace("{name}", files[i].name);
    }
    return "";
  }

  function upload(panel, files) {
    var form = panel.querySelector("[data-files-upload]");
    if (!form || !files.length) return;
    var problem = tooLarge(panel, files);
    if (problem) {
      say(panel, problem);
      return;
    }
    var body = new FormData();
    body.append("csrf_token", tokenOf(panel));
    for (var i = 0; i < files.length; i++) body.append("files", files[i], files[i].name);
    send(panel, form.action, body);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var panel = panelOf(form);
    if (event.defaultPrevented || !panel || !form.hasAttribute("data-files-form")) return;
    event.preventDefault();
    if (form.hasAttribute("data-files-upload")) {
      upload(panel, form.querySelector("input[type='file']").files);
    } else {
      send(panel, form.action, new FormData(form));
    }
  });

  function dragsFiles(event) {
    var types = event.dataTransfer ? event.dataTransfer.types : [];
    for (var i = 0; i < types.length; i++) if (types[i] === "Files") return true;
    return false;
  }

  document.addEventListener("dragover", function (event) {
    var panel = panelOf(event.target);
    if (!panel || !dragsFiles(event) || !panel.querySelector("[data-files-upload]")) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    hint(panel, true);
  });

  document.addEventListener("dragleave", function (event) {
    var panel = panelOf(event.target);
    if (panel && !panel.contains(event.relatedTarget)) hint(panel, false);
  });

  document.addEventListener("drop", function (event) {
    var panel = panelOf(event.target);
    if (!panel || !dragsFiles(event) || !panel.querySelector("[data-files-upload]")) return;
    event.preventDefault();
    hint(panel, false);
    upload(panel, event.dataTransfer.files);
  });
})();
