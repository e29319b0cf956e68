// Live inbox: window countdowns, the composer switching to templates when the window closes,
// and a refresh of the live part of the page whenever the server reports a change.
(function () {
  "use strict";

  function formatLeft(seconds) {
    if (seconds <= 0) return "closed";
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = Math.floor(seconds % 60);
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s left";
  }

  // The server sends seconds left (by the policy's clock); the browser counts down from when it got them.
  function deadline(el) {
    if (!el.deadline) el.deadline = Date.now() / 1000 + (parseFloat(el.getAttribute("data-seconds-left")) || 0);
    return el.deadline;
  }

  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("[data-seconds-left]").forEach(function (el) {
      var left = deadline(el) - now;
      el.textContent = formatLeft(left);
      el.classList.toggle("closed", left <= 0);
      el.classList.toggle("closing", left > 0 && left < 3600);
    });
    var composer = document.getElementById("composer");
    var windowEl = document.getElementById("window");
    if (composer && windowEl) {
      var open = deadline(windowEl) > now;
      composer.setAttribute("data-mode", open ? "session" : "template");
      composer.querySelector(".free-text").hidden = !open;
      composer.querySelector(".templates").hidden = open;
    }
  }

  function refresh() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["live", "actions"].forEach(function (id) {
          var now = document.getElementById(id), next = fresh.getElementById(id);
          var typing = now && now.contains(document.activeElement) && document.activeElement.value;
          if (now && next && !typing) now.replaceWith(next);
        });
        wire();
        tick();
      });
  }

  var pending = null;
  function scheduleRefresh() {
    if (pending) return;
    pending = setTimeout(function () { pending = null; refresh(); }, 150);
  }

  function wire() {
    document.querySelectorAll("select.canned").forEach(function (select) {
      select.onchange = function () {
        var box = select.form.querySelector("textarea");
        if (select.value) { box.value = select.value; box.focus(); }
        select.value = "";
      };
    });
    document.querySelectorAll("select.template-picker").forEach(function (picker) {
      var show = function () {
        document.querySelectorAll("form.template").forEach(function (form) {
          form.hidden = form.getAttribute("data-index") !== picker.value;
        });
      };
      picker.onchange = show;
      show();
    });
    var transcript = document.getElementById("transcript");
    if (transcript) transcript.scrollTop = transcript.scrollHeight;
  }

  document.addEventListener("DOMContentLoaded", function () {
    wire();
    tick();
    setInterval(tick, 1000);
    var url = document.body.getAttribute("data-stream");
    if (url && window.EventSource) {
      var source = new EventSource(url);
      source.addEventListener("change", scheduleRefresh);
    }
  });
})();
