/* Attendance without a page load per person (issue 20).
 *
 * Each Present/Absent button and "Mark all present" is an ordinary form (CSRF token inside)
 * that works without JavaScript: the page comes back at the person's row. With JavaScript the
 * form is sent with fetch asking for JSON; the server answers with the message, the new count
 * and the new state of the rows it changed, which are shown in place. The message goes to the
 * page's live region (role=status), so a screen reader hears "Ana Torres: present." */
(function () {
  "use strict";
  var sheet = document.querySelector("[data-attendance-sheet]");
  var status = document.getElementById("attendance-status");
  var count = document.getElementById("attendance-count");
  if (!sheet || !status || !window.fetch || !window.FormData) {
    return;
  }

  function show(row, state, method) {
    row.setAttribute("data-state", state);
    row.setAttribute("data-method", method || "");
    row.querySelectorAll("[data-show]").forEach(function (element) {
      var wanted = element.getAttribute("data-show");
      element.hidden = wanted === "code" ? !(state === "present" && method === "code") : wanted !== state;
    });
    row.querySelectorAll("button[data-for]").forEach(function (button) {
      button.classList.toggle("usa-button--outline", button.getAttribute("data-for") !== state);
    });
  }

  function announce(text) {
    // Emptied first so that the same message twice ("Ana: present." again) is read again.
    status.textContent = "";
    window.setTimeout(function () {
      status.textContent = text;
    }, 50);
  }

  function apply(data) {
    (data.rows || []).forEach(function (item) {
      var row = document.getElementById("p-" + item.id);
      if (row) {
        show(row, item.state, item.method);
      }
    });
    if (count && data.count) {
      count.textContent = data.count;
    }
    var unmarked = document.querySelector("[data-unmarked-text]");
    if (unmarked && typeof data.unmarked === "number") {
      unmarked.textContent = unmarked.textContent.replace(/\d+/, String(data.unmarked));
    }
    if (data.message) {
      announce(data.message);
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-attendance-form")) {
      return;
    }
    event.preventDefault();
    // Not disabled (the focus would leave the button): a second press waits for the first.
    if (form.getAttribute("aria-busy") === "true") {
      return;
    }
    form.setAttribute("aria-busy", "true");
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === -1) {
          throw new Error("not saved");
        }
        return response.json();
      })
      .then(apply)
      .catch(function () {
        announce(status.getAttribute("data-failed"));
      })
      .then(function () {
        form.removeAttribute("aria-busy");
      });
  });
})();
