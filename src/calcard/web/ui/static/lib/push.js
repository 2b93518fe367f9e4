// Web Push for this browser: subscribe (Push API, RFC 8030) with the server's VAPID key
// and hand the subscription to the server, so reminders and invitation notices reach
// this browser with the tab closed (the service worker, sw.js, shows them).
import { api } from "./api.js";
import { t } from "./i18n.js";

function keyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** What Settings lists this subscription as, in the reader's language (one sentence a case). */
function label() {
  const brand = navigator.userAgentData?.brands?.find((b) => !/Not.A.Brand/.test(b.brand))?.brand;
  const platform = navigator.platform;
  if (brand && platform) return t("Browser: {brand} on {platform}", { brand, platform });
  if (brand) return t("Browser: {brand}", { brand });
  if (platform) return t("Browser on {platform}", { platform });
  return t("Browser on this device");
}

/** Subscribe this browser when notifications are allowed; a failure is no error. */
export async function subscribeBrowser() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return null;
  if (Notification.permission !== "granted") return null;
  try {
    const { key } = await api("GET", "/api/push/key");
    const registration = await navigator.serviceWorker.ready;
    const subscription =
      (await registration.pushManager.getSubscription()) ||
      (await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(key),
      }));
    const { endpoint, keys } = subscription.toJSON();
    return await api("POST", "/api/push/browser", { endpoint, keys, label: label() });
  } catch (failure) {
    console.warn("no push notifications in this browser:", failure.message);
    return null;
  }
}
