// Small enhancements shared by every page. Everything works without them.
(function () {
  "use strict";
  // After a form is sent back with errors, move focus to the summary so screen readers
  // announce it and keyboard users can jump to each field from its links.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
})();
