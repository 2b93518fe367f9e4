// The installable app: register the service worker that keeps the app shell cached.
export function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return Promise.resolve(null);
  return navigator.serviceWorker.register("/web/sw.js", { scope: "/web/" });
}
