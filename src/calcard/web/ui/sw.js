// calcard's service worker: the app shell from a versioned cache, for a fast start.
// Only the public, versioned files under /web/static/ and /web/vendor/, the web
// calendar's catalogs (/web/i18n/) and web app manifests (/web/manifest/), the same for
// everyone, are cached.
// Pages (which depend on the login), /api/ and DAV always go to the network, so
// nothing private is stored and no stale login or app page is ever served.
// The server fills in VERSION and SHELL (calcard.web.ui.service_worker).
// It also shows Web Push messages (calcard.push: reminders, invitation notices) while no
// calcard tab is open; a repeating reminder's Stop action posts its signed stop route.
const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const PREFIX = "calcard-shell-";
const CACHE = PREFIX + VERSION;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys.filter((k) => k.startsWith(PREFIX) && k !== CACHE).map((k) => caches.delete(k)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

function cacheable(request) {
  if (request.method !== "GET") return false;
  const url = new URL(request.url);
  return (
    url.origin === self.location.origin &&
    ["/web/static/", "/web/vendor/", "/web/i18n/", "/web/manifest/"].some((p) => url.pathname.startsWith(p))
  );
}

async function fromCache(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && response.type === "basic" && !response.redirected) {
    await cache.put(request, response.clone());
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  if (cacheable(event.request)) event.respondWith(fromCache(event.request));
  // Anything else is not answered here: the browser fetches it as if there were no worker.
});

// --- Web Push (RFC 8030): {title, body, tag, stop?: {url, sig, title}} from
// calcard.push.dispatch. The server writes every text in the owner's language, the Stop
// action's title too: a worker has no page and so no language of its own.

self.addEventListener("push", (event) => {
  const notice = event.data ? event.data.json() : {};
  const options = { body: notice.body || "", tag: notice.tag, data: notice };
  if (notice.stop) options.actions = [{ action: "stop", title: notice.stop.title || "Stop" }];
  event.waitUntil(self.registration.showNotification(notice.title || "calcard", options));
});

async function stopReminder(stop) {
  await fetch(stop.url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ sig: stop.sig }),
  });
}

async function openApp() {
  const windows = await self.clients.matchAll({ type: "window" });
  const open = windows.find((w) => new URL(w.url).pathname.startsWith("/web/"));
  return open ? open.focus() : self.clients.openWindow("/web/");
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const stop = event.notification.data?.stop;
  event.waitUntil(event.action === "stop" && stop ? stopReminder(stop) : openApp());
});
