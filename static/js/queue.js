// The back office's live parts. Everything works without this file; it adds speed.
// - Every back-office page: the header's unread notice count ([data-unread-url]) is kept up to
//   date by short polling.
// - The queues (templates/casework/queue/): "3 new cases — show" by the same polling, the
//   selection count, select-all, the bulk bar's fields, and keyboard shortcuts.
// Polling: one small JSON request about every 30 seconds with If-None-Match (an empty 304 while
// nothing changed), none while the tab is hidden, one at once when it is shown again.
(function () {
  "use strict";
  if (window.portalQueue) { return; }
  window.portalQueue = true;

  var POLL_MS = 30000;

  // -- short polling ------------------------------------------------------------------------

  function updateUnread(data) {
    var link = document.querySelector("[data-unread-url]");
    if (!link || typeof data.unread !== "number") { return; }
    var badge = link.querySelector("[data-unread-badge]");
    var text = link.querySelector("[data-unread-text], .usa-sr-only");
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "usa-tag bg-secondary-dark margin-left-05";
      badge.setAttribute("aria-hidden", "true");
      badge.setAttribute("data-unread-badge", "");
      link.appendChild(document.createTextNode(" "));
      link.appendChild(badge);
    }
    if (!text) {
      text = document.createElement("span");
      text.className = "usa-sr-only";
      text.setAttribute("data-unread-text", "");
      link.appendChild(text);
    }
    badge.hidden = data.unread === 0;
    badge.textContent = data.unread_badge;
    text.textContent = data.unread ? "(" + data.unread_label + ")" : "";
  }

  function updateNew(data) {
    var notice = document.querySelector("[data-new-cases]");
    if (!notice || typeof data["new"] !== "number") { return; }
    if (String(data["new"]) === notice.getAttribute("data-count")) { return; }
    notice.setAttribute("data-count", String(data["new"]));
    notice.textContent = "";
    if (data["new"] > 0) {
      var link = document.createElement("a");
      link.href = notice.getAttribute("data-newest-url");
      link.textContent = data.new_label;
      notice.appendChild(link);
    }
  }

  function startPolling() {
    var page = document.querySelector("[data-updates-url]");
    var header = document.querySelector("[data-unread-url]");
    var url = (page && page.getAttribute("data-updates-url")) ||
      (header && header.getAttribute("data-unread-url"));
    if (!url || !window.fetch) { return; }
    var etag = null;
    var timer = null;
    var busy = false;

    function schedule() {
      if (timer === null && !document.hidden) { timer = window.setTimeout(check, POLL_MS); }
    }
    function check() {
      timer = null;
      if (document.hidden || busy) { return; }
      busy = true;
      var headers = { "Accept": "application/json" };
      if (etag) { headers["If-None-Match"] = etag; }
      fetch(url, { headers: headers, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status !== 200) { return null; }
          etag = response.headers.get("ETag");
          return response.json().then(function (data) { updateNew(data); updateUnread(data); });
        })
        .catch(function () { /* offline or signed out: try again later */ })
        .then(function () { busy = false; schedule(); });
    }
    document.addEventListener("visibilitychange", function () {
      window.clearTimeout(timer);
      timer = null;
      if (!document.hidden) { check(); }
    });
    // Tests (and a member who wants it now) can ask at once.
    document.addEventListener("portal:check-updates", function () {
      window.clearTimeout(timer);
      timer = null;
      check();
    });
    schedule();
  }

  // -- the queue: selection and the bulk bar -----------------------------------------------

  function setUpQueue() {
    var table = document.querySelector("[data-queue-table]");
    if (!table) { return; }
    var form = document.getElementById("queue-bulk");
    var bar = document.querySelector("[data-bulkbar]");
    var selectAll = table.querySelector("[data-select-all]");
    var boxes = Array.prototype.slice.call(table.querySelectorAll("input[name=task]"));
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-row]"));
    var count = document.querySelector("[data-selected-count]");
    var dialog = document.querySelector("[data-shortcuts]");
    var opener = document.querySelector("[data-shortcuts-open]");
    var current = -1;
    var more = bar && bar.querySelector("[data-bulk-more]");
    var chosenBefore = -1;
    if (bar) { bar.setAttribute("data-live", ""); }

    Array.prototype.forEach.call(document.querySelectorAll("[data-nojs]"), function (el) {
      el.hidden = true;
    });
    if (selectAll) { selectAll.hidden = false; }
    if (opener && dialog && dialog.showModal) { opener.hidden = false; }

    function refresh() {
      var chosen = boxes.filter(function (box) { return box.checked; }).length;
      if (count) {
        count.textContent = chosen ?
          count.getAttribute("data-some").replace("__N__", String(chosen)) :
          count.getAttribute("data-none");
      }
      if (more && chosen !== chosenBefore && (chosen === 0 || chosenBefore === 0)) {
        more.open = chosen > 0;
      }
      chosenBefore = chosen;
      if (selectAll) {
        selectAll.checked = chosen > 0 && chosen === boxes.length;
        selectAll.indeterminate = chosen > 0 && chosen < boxes.length;
      }
    }
    boxes.forEach(function (box) { box.addEventListener("change", refresh); });
    if (selectAll) {
      selectAll.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = selectAll.checked; });
        refresh();
      });
    }
    var action = form && form.elements.action;
    if (bar && action) {
      bar.setAttribute("data-action", action.value);
      action.addEventListener("change", function () { bar.setAttribute("data-action", action.value); });
    }
    refresh();

    // -- keyboard shortcuts -----------------------------------------------------------------

    var NOT_TYPING = { checkbox: 1, radio: 1, button: 1, submit: 1, reset: 1, image: 1 };
    function typing(el) {
      if (!el || el === document.body) { return false; }
      if (el.isContentEditable) { return true; }
      var tag = el.tagName;
      if (tag === "TEXTAREA" || tag === "SELECT") { return true; }
      if (tag === "INPUT") { return !NOT_TYPING[(el.type || "text").toLowerCase()]; }
      return false;
    }
    function link(row) { return row.querySelector("[data-open]"); }
    function go(index) {
      if (!rows.length) { return; }
      index = Math.max(0, Math.min(rows.length - 1, index));
      if (current >= 0 && rows[current]) { rows[current].classList.remove("is-current"); }
      current = index;
      rows[current].classList.add("is-current");
      link(rows[current]).focus();
    }
    function currentRow() {
      // The row holding the focus wins over the remembered one (a click or Tab moved it).
      var focused = document.activeElement && document.activeElement.closest &&
        document.activeElement.closest("tr[data-row]");
      if (focused) {
        var index = rows.indexOf(focused);
        if (index >= 0 && index !== current) { go(index); }
      }
      return current >= 0 ? rows[current] : null;
    }
    function assignToMe(row) {
      var me = form && form.getAttribute("data-me");
      var box = row.querySelector("input[name=task]");
      if (!me || !box) { return; }
      boxes.forEach(function (other) { other.checked = other === box; });
      form.elements.action.value = "assign";
      form.elements.bulk_assignee.value = me;
      refresh();
      form.submit();
    }

    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (typing(event.target) || (dialog && dialog.open)) { return; }
      var row;
      switch (event.key) {
        case "j":
          go(currentRow() ? current + 1 : 0);
          break;
        case "k":
          go(currentRow() ? current - 1 : 0);
          break;
        case "o":
        case "Enter":
          row = currentRow();
          // Enter on a link, button or checkbox keeps its own meaning.
          if (!row || (event.key === "Enter" && event.target.closest("a, button, input"))) { return; }
          window.location.assign(row.getAttribute("data-href"));
          break;
        case "x":
          row = currentRow();
          var box = row && row.querySelector("input[name=task]");
          if (!box) { return; }
          box.checked = !box.checked;
          refresh();
          break;
        case "a":
          row = currentRow();
          if (!row) { return; }
          assignToMe(row);
          break;
        case "r":
          row = currentRow();
          if (!row) { return; }
          window.location.assign(row.getAttribute("data-href") + "#composer");
          break;
        case "?":
          if (!dialog || !dialog.showModal) { return; }
          dialog.showModal();
          break;
        default:
          return;
      }
      event.preventDefault();
    });
    if (opener && dialog) {
      opener.addEventListener("click", function () { dialog.showModal(); });
    }
  }

  setUpQueue();
  startPolling();
})();
