// Reminders while the app is open: the notification stream, shown as a browser
// notification (when allowed) and as a toast with a Stop button. Once notifications
// are allowed, the browser is also subscribed to Web Push (lib/push.js): the same
// notices then come with the tab closed (the same tag: never shown twice).
import { t } from "../lib/i18n.js";
import { api, closeOnLogout } from "../lib/api.js";
import { $, h } from "../lib/dom.js";
import { subscribeBrowser } from "../lib/push.js";

const toasts = $("toasts");

export function toast(text, actions = []) {
  const box = h("div", { className: "toast", role: "status" }, h("p", {}, text));
  for (const [label, handler] of [...actions, [t("Dismiss"), () => {}]]) {
    const onclick = async () => {
      await handler();
      box.remove();
    };
    box.append(h("button", { type: "button", onclick }, label));
  }
  toasts.append(box);
  return box;
}

function show(item) {
  const text = item.body ? `${item.title} — ${item.body}` : item.title;
  const stop = () => api("POST", `/api/reminders/${item.reminder_id}/stop`);
  toast(text, item.reminder_id ? [[t("Stop"), stop]] : []);
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification(item.title, { body: item.body, tag: `calcard-${item.id}` });
  }
}

function offerPermission() {
  const button = $("enable-notifications");
  if (!("Notification" in window)) return;
  if (Notification.permission === "granted") subscribeBrowser();
  if (Notification.permission !== "default") return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    await Notification.requestPermission();
    button.hidden = true;
    await subscribeBrowser();
  });
}

/** Follow the stream from now on (older notifications were shown elsewhere). */
export async function listen() {
  offerPermission();
  const { notifications } = await api("GET", "/api/notifications");
  const last = notifications.length ? notifications[notifications.length - 1].id : 0;
  const stream = new EventSource(`/api/notifications/stream?after=${last}`);
  stream.addEventListener("notification", (event) => show(JSON.parse(event.data)));
  closeOnLogout(stream);
  return stream;
}
