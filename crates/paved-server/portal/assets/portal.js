// paved portal: small enhancements on top of pages that work without JavaScript.
// - "/" focuses the search box (unless typing in a field already).
// - Arrow keys move between the search box and its suggestions; Escape closes them.
// - Facet checkboxes marked data-autosubmit submit their form when changed.
// - The theme toggle overrides the system colour scheme, remembered in this browser.
// - A running template task's log follows its event stream; the page reloads when it ends
//   (without JavaScript the page refreshes itself instead).
(function () {
  "use strict";
  var root = document.documentElement;
  try {
    var saved = window.localStorage.getItem("paved-theme");
    if (saved === "light" || saved === "dark") root.setAttribute("data-theme", saved);
  } catch (e) { /* storage unavailable: follow the system */ }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
    var search = document.querySelector("[data-shortcut='/']");
    if (search) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  });

  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("topsearch-suggestions");
    var input = document.getElementById("topsearch-q");
    if (!box || !input) return;
    var links = Array.prototype.slice.call(box.querySelectorAll("a"));
    var at = links.indexOf(document.activeElement);
    if (event.key === "Escape" && (document.activeElement === input || at >= 0)) {
      box.innerHTML = "";
      input.focus();
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    if (document.activeElement !== input && at < 0) return;
    if (links.length === 0) return;
    event.preventDefault();
    if (event.key === "ArrowDown") {
      links[Math.min(at + 1, links.length - 1)].focus();
    } else if (at <= 0) {
      input.focus();
    } else {
      links[at - 1].focus();
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.hasAttribute && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.submit();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.querySelector("[data-theme-toggle]");
    if (!toggle) return;
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var current = root.getAttribute("data-theme") ||
        (window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
      var next = current === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { window.localStorage.setItem("paved-theme", next); } catch (e) { /* ignore */ }
    });
  });

  function followTask(list) {
    var base = list.getAttribute("data-task-stream").split("?")[0];
    var after = Number((/after=(\d+)/.exec(list.getAttribute("data-task-stream")) || [0, 0])[1]);
    var source = null;
    function line(event) {
      var li = document.createElement("li");
      var time = document.createElement("time");
      time.className = "muted";
      time.textContent = String(event.createdAt || "").slice(11, 19);
      li.appendChild(time);
      li.appendChild(document.createTextNode(" "));
      var step = event.body && event.body.stepId;
      if (step) {
        var badge = document.createElement("span");
        badge.className = "badge step-badge";
        badge.textContent = step;
        li.appendChild(badge);
        li.appendChild(document.createTextNode(" "));
        var status = event.body.status;
        var row = status && document.querySelector("[data-step='" + (window.CSS && CSS.escape ? CSS.escape(step) : step) + "']");
        if (row) row.className = "step status-" + status;
      }
      var msg = document.createElement("span");
      msg.className = "msg";
      msg.textContent = (event.body && event.body.message) || "";
      li.appendChild(msg);
      list.appendChild(li);
    }
    function connect() {
      source = new EventSource(base + "?after=" + after);
      var onEvent = function (e) {
        var event;
        try { event = JSON.parse(e.data); } catch (err) { return; }
        if (typeof event.id === "number") after = Math.max(after, event.id);
        if (event.body && event.body.message) line(event);
        if (e.type === "completion") {
          source.close();
          window.location.reload();
        }
      };
      ["log", "completion", "cancelled", "recovered"].forEach(function (type) {
        source.addEventListener(type, onEvent);
      });
      source.onerror = function () {
        // The stream ended or the connection broke: reconnect from the last event seen.
        source.close();
        window.setTimeout(connect, 1000);
      };
    }
    connect();
  }

  // A template form field that others depend on: show the form again when it changes (the
  // "Update the form" button does the same without JavaScript).
  document.addEventListener("change", function (event) {
    var holder = event.target.closest && event.target.closest("[data-controls]");
    if (!holder) return;
    var button = holder.querySelector("button[value='refresh']");
    if (button && button.form) button.form.requestSubmit(button);
  });

  // Documentation pages with Mermaid diagrams load the vendored script; draw them in the theme
  // in use (without JavaScript they stay as their source).
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.mermaid || !document.querySelector("pre.mermaid")) return;
    var theme = root.getAttribute("data-theme") ||
      (window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: theme === "dark" ? "dark" : "default" });
    window.mermaid.run({ querySelector: "pre.mermaid" });
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-controls] button[value='refresh']").forEach(function (b) {
      b.classList.add("visually-hidden");
      b.tabIndex = -1;
    });
    var list = document.querySelector("[data-task-stream]");
    if (list && window.EventSource) followTask(list);
  });
})();
