// Survey pages: a question with a condition ("Answer this if you said ...") is hidden while
// the earlier answer does not match it. Without this script every question is shown with its
// hint, and the server ignores answers to questions whose condition is not met.
(function () {
  "use strict";
  var blocks = Array.prototype.slice.call(document.querySelectorAll("[data-show-if]"));
  if (!blocks.length) { return; }

  function namesIn(block) {
    var names = {};
    Array.prototype.forEach.call(block.querySelectorAll("input, textarea, select"),
      function (field) { names[field.name] = true; });
    return names;
  }

  function chosen(name, hiddenNames) {
    if (hiddenNames[name]) { return []; }
    var values = [];
    Array.prototype.forEach.call(document.getElementsByName(name), function (field) {
      if ((field.type === "radio" || field.type === "checkbox") ? field.checked : field.value) {
        values.push(field.value);
      }
    });
    return values;
  }

  function update() {
    // In page order, so a question hidden by its own condition hides those that depend on it.
    var hiddenNames = {};
    blocks.forEach(function (block) {
      var wanted = (block.getAttribute("data-show-values") || "").split(" ");
      var answers = chosen(block.getAttribute("data-show-if"), hiddenNames);
      var show = answers.some(function (value) { return wanted.indexOf(value) !== -1; });
      block.hidden = !show;
      if (!show) {
        var names = namesIn(block);
        Object.keys(names).forEach(function (name) { hiddenNames[name] = true; });
      }
    });
  }

  document.addEventListener("change", update);
  update();
})();
