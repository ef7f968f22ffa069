// "Describe the problem" (issue 22): as the resident types, the three most likely kinds of
// problem from GET /report/category-suggestions appear as one-click choices (submit buttons
// named "category" in the same form, so the description goes with the choice); a polite live
// region says how many there are. Knowledge articles like the text (GET /report/article-
// suggestions) are listed as links above them. Without JavaScript "Continue" shows the same
// on the next page.
(function () {
  "use strict";
  var form = document.querySelector("[data-describe]");
  if (!form || !window.fetch) { return; }
  var input = form.querySelector("textarea");
  var box = form.querySelector("[data-suggestions]");
  var list = form.querySelector("[data-suggestion-list]");
  var status = form.querySelector("[data-suggestion-status]");
  var answersBox = form.querySelector("[data-answers]");
  var answerList = form.querySelector("[data-answer-list]");
  var answerCount = 0;
  var timer = null;
  var controller = null;
  var last = "";

  function text(name, values) {
    var template = form.getAttribute("data-text-" + name) || "";
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values && key in values ? values[key] : ""; });
  }

  function show(suggestions) {
    list.innerHTML = "";
    suggestions.forEach(function (s) {
      var item = document.createElement("li");
      item.className = "margin-bottom-1";
      var button = document.createElement("button");
      button.type = "submit";
      button.name = "category";
      button.value = s.code;
      button.className = "usa-button usa-button--outline";
      button.textContent = s.name;
      item.appendChild(button);
      list.appendChild(item);
    });
    box.hidden = suggestions.length === 0;
    var said;
    if (suggestions.length === 0) { said = text("none"); }
    else if (suggestions.length === 1) { said = text("one"); }
    else { said = text("found", { count: suggestions.length }); }
    status.textContent = (answerCount ? text("answers", { count: answerCount }) + " " : "") + said;
  }

  function showAnswers(answers) {
    answerList.innerHTML = "";
    answers.forEach(function (a) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.className = "usa-link";
      link.href = a.url;
      link.textContent = a.title;
      item.appendChild(link);
      answerList.appendChild(item);
    });
    answerCount = answers.length;
    answersBox.hidden = answers.length === 0;
  }

  function get(url, value, signal) {
    return fetch(url + "?description=" + encodeURIComponent(value.slice(0, 2000)) +
      "&language=" + encodeURIComponent(form.getAttribute("data-language") || ""),
      { credentials: "same-origin", signal: signal, headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (body) { return Array.isArray(body) ? body : []; });
  }

  function ask() {
    var value = input.value.trim();
    if (value === last) { return; }
    last = value;
    if (value.length < 4) { showAnswers([]); show([]); status.textContent = ""; return; }
    if (controller) { controller.abort(); }
    controller = window.AbortController ? new AbortController() : null;
    var signal = controller ? controller.signal : undefined;
    Promise.all([
      get(form.getAttribute("data-article-url"), value, signal),
      get(form.getAttribute("data-category-url"), value, signal)
    ]).then(function (both) { showAnswers(both[0]); show(both[1]); })
      .catch(function () { /* offline or aborted: the full list is still one link away */ });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 350);
  });
  if (input.value.trim()) { ask(); }
})();
