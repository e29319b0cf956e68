// Live inbox: window countdowns, the composer switching to templates when the window closes, new
// messages of the open chat added as they come (each event carries its message), and a refresh of the
// live part of the page when a chat changes hands. The event stream reconnects with backoff after any
// error, including an HTTP error after which the browser's EventSource would give up for good.
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
      composer.querySelectorAll(".free-text, .attach").forEach(function (part) { part.hidden = !open; });
      // Templates inside the window too when the administrator allows it (HANDOFF_TEMPLATES_IN_WINDOW).
      composer.querySelector(".templates").hidden = open && !composer.hasAttribute("data-templates-in-window");
      composer.querySelectorAll(".window-closed").forEach(function (part) { part.hidden = open; });
      composer.querySelectorAll(".window-open").forEach(function (part) { part.hidden = !open; });
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

  function clock(at) {
    var d = new Date(parseFloat(at) * 1000);
    return isNaN(d) ? "" : ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  // Text only (textContent): customers' messages are never markup.
  function appendMessage(m) {
    var transcript = document.getElementById("transcript");
    if (!transcript || (m.id && transcript.querySelector('[data-id="' + CSS.escape(m.id) + '"]'))) return;
    var li = document.createElement("li"), who = document.createElement("span");
    var text = document.createElement("span"), time = document.createElement("time");
    li.className = "msg " + m.kind;
    if (m.id) li.setAttribute("data-id", m.id);
    who.className = "who";
    who.textContent = (m.kind === "agent" || m.kind === "note") ? (m.agent || "") + (m.kind === "note" ? " (note)" : "") : m.kind;
    text.className = "text";
    text.textContent = m.text || "";
    time.textContent = clock(m.at);
    li.append(who, text, time);
    transcript.appendChild(li);
    transcript.scrollTop = transcript.scrollHeight;
  }

  // A browser notification when a chat is assigned or transferred to this agent (not for the chat they
  // just claimed themselves). Permission is asked only when the agent clicks the header's button.
  var me = document.body.getAttribute("data-agent");
  function notifyAssigned(change) {
    if (!window.Notification || Notification.permission !== "granted" || !me || change.agent !== me) return;
    if (change.kind !== "assigned" && change.kind !== "transferred") return;
    if (sessionStorage.getItem("claimed") === change.chat_id) { sessionStorage.removeItem("claimed"); return; }
    var note = new Notification("New chat assigned to you", {
      body: (change.kind === "transferred" ? "Transferred to you" : "Assigned to you") + " · team " + (change.team || ""),
      tag: "chat-" + change.chat_id
    });
    note.onclick = function () { window.focus(); window.location.href = "/inbox/chats/" + encodeURIComponent(change.chat_id); };
  }

  function wireNotifications() {
    var button = document.getElementById("enable-notifications");
    if (!button || !window.Notification) return;
    button.hidden = Notification.permission !== "default";
    button.onclick = function () {
      Notification.requestPermission().then(function () { button.hidden = Notification.permission !== "default"; });
    };
    document.addEventListener("submit", function (event) {
      var claim = event.target.action && event.target.action.match(/\/inbox\/chats\/([^/]+)\/claim$/);
      if (claim) sessionStorage.setItem("claimed", decodeURIComponent(claim[1]));
    });
  }

  // The open chat page has seen a new customer message: the agent's unread count for it stays at zero.
  function markSeen(chatId) {
    var token = document.querySelector("meta[name=csrf-token]");
    fetch("/inbox/chats/" + encodeURIComponent(chatId) + "/seen", {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": token ? token.content : "" }
    });
  }

  function onChange(event) {
    var change = {};
    try { change = JSON.parse(event.data); } catch (e) { /* an event without details: refresh */ }
    notifyAssigned(change);
    var live = document.getElementById("live");
    if (!live) return;  // a page without a live part (the dashboard): the stream only keeps the agent present
    var openChat = live && live.getAttribute("data-chat-id");
    if (openChat && change.chat_id && change.chat_id !== openChat) return;  // another chat: nothing here changes
    if (openChat && change.kind === "customer_message") markSeen(openChat);
    if (openChat && change.message) {
      try {
        var message = JSON.parse(change.message);
        // A sent image or document is drawn by the server (its link and preview): refresh for it.
        if (!message.media) { appendMessage(message); return; }
      } catch (e) { /* fall back to a refresh */ }
    }
    scheduleRefresh();
  }

  var lastId = "";
  function connect(url, attempt) {
    var source = new EventSource(lastId ? url + "?after=" + encodeURIComponent(lastId) : url);
    source.addEventListener("open", function () {
      if (attempt > 0) scheduleRefresh();  // catch up with what happened while disconnected
      attempt = 0;
    });
    source.addEventListener("change", function (event) {
      lastId = event.lastEventId || lastId;
      onChange(event);
    });
    source.onerror = function () {
      if (source.readyState !== EventSource.CLOSED) return;  // the browser retries by itself
      source.close();
      var delay = Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
      setTimeout(function () { connect(url, attempt + 1); }, delay);
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    wireNotifications();
    wire();
    tick();
    setInterval(tick, 1000);
    var url = document.body.getAttribute("data-stream");
    if (url && window.EventSource) connect(url, 0);
  });
})();
