// The reply composer's "Link a help article" (issue 22): choose an article and insert its
// public address where the cursor is in the message. Without JavaScript the addresses are
// listed to copy.
(function () {
  "use strict";
  var box = document.querySelector("[data-article-links]");
  if (!box) { return; }
  var insert = box.querySelector("[data-article-insert]");
  var select = insert.querySelector("select");
  var button = insert.querySelector("button");
  var message = box.closest("form").querySelector("textarea[name=message]");
  if (!message) { return; }
  insert.hidden = false;
  button.addEventListener("click", function () {
    var url = select.value;
    var start = message.selectionStart || message.value.length;
    var end = message.selectionEnd || start;
    var before = message.value.slice(0, start);
    var spacer = before && !/\s$/.test(before) ? " " : "";
    message.value = before + spacer + url + message.value.slice(end);
    var at = (before + spacer + url).length;
    message.focus();
    message.setSelectionRange(at, at);
  });
})();
