// The installable app: register the service worker that keeps the app shell cached.
// Without it the app works the same, only its start is slower: a failure is no error.
export function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker
    .register("/web/sw.js", { scope: "/web/" })
    .catch((failure) => console.warn("no cached app shell:", failure.message));
}
