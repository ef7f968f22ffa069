// Installs the portal's service worker (/sw.js: templates/pwa/sw.js, issue 21) once the page
// has loaded, so it never competes with the page for a slow connection, and tells it the
// page's language: the offline page it shows is then in the resident's language.
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) { return; }
  var lang = document.documentElement.lang;
  function tell(worker) {
    if (worker) { worker.postMessage({ type: "portal-language", lang: lang }); }
  }
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {
      /* no worker: the site works as before */
    });
    navigator.serviceWorker.ready.then(function (registration) { tell(registration.active); });
  });
})();
