// Reminders while the app is open: the notification stream, shown as a browser
// notification (when allowed) and as a toast with a Stop button.
import { api, closeOnLogout } from "../lib/api.js";
import { $, h } from "../lib/dom.js";

const toasts = $("toasts");

export function toast(text, actions = []) {
  const box = h("div", { className: "toast", role: "status" }, h("p", {}, text));
  for (const [label, handler] of [...actions, ["Dismiss", () => {}]]) {
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
  toast(text, item.reminder_id ? [["Stop", stop]] : []);
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification(item.title, { body: item.body, tag: `calcard-${item.id}` });
  }
}

function offerPermission() {
  const button = $("enable-notifications");
  if (!("Notification" in window) || Notification.permission !== "default") return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    await Notification.requestPermission();
    button.hidden = true;
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
