// The service worker's part for reports written offline (issue 21), imported by /sw.js
// (templates/pwa/sw.js) with importScripts.
//
// - install: precaches the offline report page (/report/offline) in each of the city's
//   languages, anonymous like the core's offline page, and the hashed static files it names,
//   so the page opens and works with no connection;
// - fetch: a visit to /report/offline that the network cannot answer gets that copy;
// - sync: Background Sync (registered by the page with PortalOffline.requestSync() when a
//   report is kept) sends every waiting report, with the same store and the same idempotency
//   keys as the page (static/js/offline-store.js), so a report the page also sends is still
//   filed once. While any report could not be sent the sync fails, and the browser tries again.
/* global self, importScripts, caches */
(function () {
  "use strict";
  importScripts("/static/js/offline-store.js");
  var PAGE = "/report/offline";
  var languages = (typeof CONFIG !== "undefined" && CONFIG.languages) || ["en"];  // eslint-disable-line no-undef
  var pages = languages.map(function (lang) { return PAGE + "?lang=" + lang; });

  function precachePages() {
    return caches.open(self.portal.cache).then(function (cache) {
      return Promise.all(pages.map(function (url) {
        return fetch(new Request(url, { credentials: "omit", cache: "no-cache" }))
          .then(function (response) {
            if (!response.ok) { throw new Error(url + " answered " + response.status); }
            return response.clone().text().then(function (html) {
              var files = [];
              html.replace(/(?:src|href)="(\/static\/dist\/[^"]+)"/g, function (_m, file) {
                files.push(file);
              });
              return Promise.all([cache.put(url, response)].concat(files.map(function (file) {
                return cache.match(file).then(function (hit) {
                  return hit || cache.add(file);
                });
              })));
            });
          });
      }));
    });
  }

  self.addEventListener("install", function (event) {
    event.waitUntil(precachePages());
  });

  self.addEventListener("fetch", function (event) {
    var request = event.request;
    if (request.mode !== "navigate") { return; }
    var url = new URL(request.url);
    if (url.origin !== self.location.origin || url.pathname !== PAGE) { return; }
    event.stopImmediatePropagation();  // the core's handler would answer it a second time
    event.respondWith(fetch(request).catch(function () {
      return self.portal.language(request).then(function (lang) {
        return caches.open(self.portal.cache).then(function (cache) {
          return cache.match(PAGE + "?lang=" + lang);
        });
      }).then(function (hit) { return hit || self.portal.offlinePage(request); });
    }));
  });

  self.addEventListener("sync", function (event) {
    if (event.tag !== self.PortalOffline.SYNC_TAG) { return; }
    event.waitUntil(self.PortalOffline.sendAll().then(function (results) {
      if (results.some(function (r) { return r.outcome === "waiting"; })) {
        throw new Error("a report could not be sent yet");
      }
    }));
  });
})();
