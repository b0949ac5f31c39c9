// paved portal: small enhancements on top of pages that work without JavaScript.
// - "/" focuses the search box (unless typing in a field already).
// - Arrow keys move between the search box and its suggestions; Escape closes them.
// - Facet checkboxes marked data-autosubmit submit their form when changed.
// - The theme toggle overrides the system colour scheme, remembered in this browser.
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
})();
