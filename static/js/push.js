// "Turn on notifications on this device" (issue 21; templates/push/_button.html): subscribes
// the browser with the portal's VAPID key through the page's service worker (/sw.js, which
// imports js/sw-push.js to show the notifications) and sends the subscription to the portal.
(function () {
  "use strict";
  var box = document.querySelector("[data-push]");
  if (!box || !("serviceWorker" in navigator) || !("PushManager" in window) ||
      !("Notification" in window)) { return; }
  var on = box.querySelector("[data-push-on]");
  var off = box.querySelector("[data-push-off]");
  var status = box.querySelector("[data-push-status]");

  function key(base64) {
    var padded = (base64 + "===".slice((base64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function show(subscribed, text) {
    // The wrappers: a USWDS button's display would win over its own hidden attribute.
    box.querySelector("[data-push-on-box]").hidden = subscribed;
    box.querySelector("[data-push-off-box]").hidden = !subscribed;
    if (text !== undefined) { status.textContent = text; }
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": box.dataset.pushCsrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) { throw new Error("refused: " + response.status); }
      return response.json();
    });
  }

  function turnOn() {
    on.disabled = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { throw new Error("denied"); }
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      return registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: key(box.dataset.pushKey)
      });
    }).then(function (subscription) {
      var body = { subscription: subscription.toJSON() };
      if (box.dataset.pushRequest) { body.request = box.dataset.pushRequest; }
      return post(box.dataset.pushUrl, body);
    }).then(function () {
      show(true, box.dataset.pushOnText);
    }).catch(function (error) {
      var denied = error && error.message === "denied" || Notification.permission === "denied";
      status.textContent = denied ? box.dataset.pushDeniedText : box.dataset.pushFailedText;
    }).then(function () { on.disabled = false; });
  }

  function turnOff() {
    navigator.serviceWorker.ready.then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription) { return null; }
      var endpoint = subscription.endpoint;
      return subscription.unsubscribe().then(function () {
        return post(box.dataset.pushOffUrl, { endpoint: endpoint });
      });
    }).then(function () {
      show(false, box.dataset.pushOffText);
    }).catch(function () { status.textContent = box.dataset.pushFailedText; });
  }

  on.addEventListener("click", turnOn);
  off.addEventListener("click", turnOff);
  box.hidden = false;
  navigator.serviceWorker.ready.then(function (registration) {
    return registration.pushManager.getSubscription();
  }).then(function (subscription) {
    show(Boolean(subscription) && Notification.permission === "granted");
  }).catch(function () { /* leave the button */ });
})();
