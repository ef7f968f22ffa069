/* The portal's service worker (issue 21), served from /sw.js so its scope is the whole site.
 *
 * What it does:
 * - install: precaches the offline page in each of the city's languages (fetched without
 *   cookies, so the copy is the anonymous page: nobody's name, no form token) and the core
 *   static files under their hashed names;
 * - activate: deletes every cache of an older version (the version is a hash of those hashed
 *   names, the templates and the city's profile, so a deploy or a city import makes a new one);
 * - fetch: a page (a navigation) always comes from the network; when the network fails, the
 *   offline page in the resident's language answers instead. A hashed static file
 *   (/static/dist/...) or a home-screen icon (/app-icons/<version>/...) comes from the cache
 *   first: its name changes with its content. Nothing else is touched, and no page, no POST
 *   and nothing under /staff, /account, /my, /requests (private tracking links), /surveys or
 *   /dev is ever written to a cache.
 *
 * Adding to it (offline report drafts, push notifications, ...): a feature puts its handlers in
 * a same-origin script named static/js/sw-<feature>.js. The server lists every such file below
 * (under its hashed name) and this worker loads them with importScripts() before registering
 * its own handlers, so:
 * - a feature's "fetch" handler runs before the core's; if it calls event.respondWith() the
 *   request is its own, otherwise the core's strategy applies;
 * - "sync", "push", "notificationclick", "message" and the rest are the feature's own events;
 * - self.portal (below) offers the version, the cache names, portal.precache (push URLs to it
 *   at the top level of the script: they are fetched at install with the rest),
 *   portal.mayCache(url) and portal.offlinePage(request).
 * A new or changed sw-*.js changes this file's bytes, so browsers install the new worker.
 */
"use strict";

const CONFIG = {{ config|tojson }};

self.portal = {
  version: CONFIG.version,
  cache: "portal-" + CONFIG.version,
  // Kept across versions: the resident's last language (see "message" below).
  prefsCache: "portal-prefs",
  precache: CONFIG.offline.map((entry) => entry.url).concat(CONFIG.precache),
  mayCache(url) {
    const parsed = new URL(url, self.location.href);
    return (
      parsed.origin === self.location.origin &&
      !CONFIG.neverCached.some((prefix) => parsed.pathname.startsWith(prefix))
    );
  },
  async language(request) {
    const asked = new URL(request.url).searchParams.get("lang");
    if (asked && CONFIG.languages.includes(asked)) return asked;
    const prefs = await caches.open(self.portal.prefsCache);
    const kept = await prefs.match("/__portal/language");
    if (kept) {
      const lang = await kept.text();
      if (CONFIG.languages.includes(lang)) return lang;
    }
    for (const tag of self.navigator.languages || [self.navigator.language || ""]) {
      const lang = String(tag).slice(0, 2).toLowerCase();
      if (CONFIG.languages.includes(lang)) return lang;
    }
    return CONFIG.defaultLanguage;
  },
  async offlinePage(request) {
    const lang = await self.portal.language(request);
    const entry =
      CONFIG.offline.find((item) => item.lang === lang) || CONFIG.offline[0];
    const cache = await caches.open(self.portal.cache);
    return (await cache.match(entry.url)) || Response.error();
  },
};

if (CONFIG.imports.length) {
  importScripts(...CONFIG.imports);
}

// The offline pages are fetched without cookies (the anonymous page) and never from the HTTP
// cache; the hashed static files usually come from it (the page has just loaded them).
function precacheRequest(url) {
  const page = CONFIG.offline.some((entry) => entry.url === url);
  return new Request(url, page ? { credentials: "omit", cache: "no-cache" } : {});
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(self.portal.cache).then((cache) =>
      Promise.all(
        self.portal.precache.map((url) =>
          fetch(precacheRequest(url)).then((response) => {
            if (!response.ok) throw new Error(url + " answered " + response.status);
            return cache.put(url, response);
          }),
        ),
      ),
    ),
  );
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter(
              (name) =>
                name.startsWith("portal-") &&
                name !== self.portal.cache &&
                name !== self.portal.prefsCache,
            )
            .map((name) => caches.delete(name)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "portal-language" && CONFIG.languages.includes(data.lang)) {
    event.waitUntil(
      caches
        .open(self.portal.prefsCache)
        .then((prefs) => prefs.put("/__portal/language", new Response(data.lang))),
    );
  }
});

function cacheFirst(event) {
  event.respondWith(
    caches.open(self.portal.cache).then((cache) =>
      cache.match(event.request).then(
        (hit) =>
          hit ||
          fetch(event.request).then((response) => {
            if (response.ok && self.portal.mayCache(event.request.url)) {
              event.waitUntil(cache.put(event.request, response.clone()));
            }
            return response;
          }),
      ),
    ),
  );
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).catch(() => self.portal.offlinePage(request)),
    );
    return;
  }
  if (CONFIG.immutable.some((prefix) => url.pathname.startsWith(prefix))) {
    cacheFirst(event);
  }
});
