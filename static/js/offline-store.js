// Reports written offline (issue 21): kept in IndexedDB until sent, each exactly once.
//
// No DOM here: this file runs in a page (static/js/offline-reports.js uses it) and in a
// service worker. The service worker's Background Sync hook is:
//
//   importScripts("/static/js/offline-store.js");
//   self.addEventListener("sync", function (event) {
//     if (event.tag === PortalOffline.SYNC_TAG) { event.waitUntil(PortalOffline.sendAll()); }
//   });
//
// Each report carries the idempotency key it was given when written (crypto.randomUUID()),
// sent as the Idempotency-Key header with every attempt: the server files it once, answers
// a retry with the first answer, and the report is deleted from the device on that answer.
(function (scope) {
  "use strict";
  var DB_NAME = "portal-offline";
  var STORE = "reports";
  var SYNC_TAG = "portal-offline-reports";

  function open() {
    return new Promise(function (resolve, reject) {
      if (!scope.indexedDB) { reject(new Error("no-indexeddb")); return; }
      var request = scope.indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function run(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(result && result.result); };
        tx.onabort = tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function newKey() {
    if (scope.crypto && scope.crypto.randomUUID) { return scope.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    scope.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function save(report) { return run("readwrite", function (s) { return s.put(report); }); }
  function remove(key) { return run("readwrite", function (s) { return s.delete(key); }); }
  function list() {
    return run("readonly", function (s) { return s.getAll(); }).then(function (all) {
      return (all || []).sort(function (a, b) { return a.created < b.created ? -1 : 1; });
    });
  }

  function body(report) {
    var data = new FormData();
    Object.keys(report.fields).forEach(function (name) {
      var value = report.fields[name];
      (Array.isArray(value) ? value : [value]).forEach(function (v) { data.append(name, v); });
    });
    (report.photos || []).forEach(function (photo) {
      data.append("photos", photo.blob, photo.name);
    });
    return data;
  }

  // One attempt: "sent" (deleted, with the answer), "refused" (kept, with the messages) or
  // "waiting" (no connection, or the server could not answer now: kept for the next try).
  function send(report) {
    return fetch(report.url, {
      method: "POST",
      body: body(report),
      headers: { "Idempotency-Key": report.key, "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      var status = response.status;
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (status === 200 || status === 201) {
          return remove(report.key).then(function () { return { outcome: "sent", answer: answer }; });
        }
        if (status === 422 || status === 409 || status === 400 || status === 403) {
          report.status = "refused";
          report.errors = answer.errors || { form: answer.error || String(status) };
          // Only the warning about personal details in a public description: the resident
          // may send it as it is (file_anyway), as on the check step.
          report.personal = Boolean(answer.personal);
          return save(report).then(function () { return { outcome: "refused", report: report }; });
        }
        return { outcome: "waiting", report: report };
      });
    }, function () { return { outcome: "waiting", report: report }; });
  }

  var sending = null;

  // Send every waiting report (one at a time, oldest first); refused ones wait for the
  // resident. Calls made while a round runs share it.
  function sendAll(onResult) {
    if (sending) { return sending; }
    sending = list().then(function (reports) {
      var results = [];
      return reports.reduce(function (chain, report) {
        if (report.status === "refused") { return chain; }
        return chain.then(function () {
          return send(report).then(function (result) {
            results.push(result);
            if (onResult) { onResult(result); }
          });
        });
      }, Promise.resolve()).then(function () { return results; });
    }).then(function (results) { sending = null; return results; },
      function (error) { sending = null; throw error; });
    return sending;
  }

  // Ask the service worker (if the page has one) to send when the connection returns, even
  // after the page is closed; without one, the page sends on "online" and on the next visit.
  function requestSync() {
    var nav = scope.navigator;
    if (!nav || !nav.serviceWorker || !scope.SyncManager) { return Promise.resolve(false); }
    return nav.serviceWorker.getRegistration().then(function (registration) {
      if (!registration || !registration.sync) { return false; }
      return registration.sync.register(SYNC_TAG).then(function () { return true; });
    }).catch(function () { return false; });
  }

  scope.PortalOffline = {
    SYNC_TAG: SYNC_TAG,
    newKey: newKey,
    save: save,
    remove: remove,
    list: list,
    send: send,
    sendAll: sendAll,
    requestSync: requestSync
  };
})(self);
