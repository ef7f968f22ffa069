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
  // Where the cursor is once the person has been in the message (the start included);
  // before that, after what is written.
  var placed = false;
  message.addEventListener("focus", function () { placed = true; });
  button.addEventListener("click", function () {
    var url = select.value;
    var start = placed ? message.selectionStart : message.value.length;
    var end = placed ? message.selectionEnd : start;
    var before = message.value.slice(0, start);
    var after = message.value.slice(end);
    var spacer = before && !/\s$/.test(before) ? " " : "";
    var trailer = after && !/^\s/.test(after) ? " " : "";
    message.value = before + spacer + url + trailer + after;
    var at = (before + spacer + url + trailer).length;
    message.focus();
    message.setSelectionRange(at, at);
  });
})();
