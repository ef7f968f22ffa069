// The service worker's push part (issue 21), imported by the portal's /sw.js with
// importScripts: shows each push message (portal.push.messages.payload: title, body, url, tag)
// as a notification, and opens its page when the notification is clicked.
/* global self, clients */
(function () {
  "use strict";
  self.addEventListener("push", function (event) {
    var data = {};
    try { data = event.data ? event.data.json() : {}; } catch (error) { data = {}; }
    if (!data.title) { return; }
    event.waitUntil(self.registration.showNotification(data.title, {
      body: data.body || "",
      tag: data.tag || undefined,
      data: { url: data.url || "/" },
      icon: data.icon || undefined,
      lang: data.lang || undefined
    }));
  });

  self.addEventListener("notificationclick", function (event) {
    event.notification.close();
    var target = new URL((event.notification.data || {}).url || "/", self.location.origin);
    if (target.origin !== self.location.origin) { target = new URL("/", self.location.origin); }
    event.waitUntil(clients.matchAll({ type: "window", includeUncontrolled: true }).then(
      function (windows) {
        for (var i = 0; i < windows.length; i += 1) {
          if (windows[i].url === target.href && "focus" in windows[i]) {
            return windows[i].focus();
          }
        }
        return clients.openWindow(target.href);
      }
    ));
  });
})();
