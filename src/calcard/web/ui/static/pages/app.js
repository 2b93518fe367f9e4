// The calendar page: FullCalendar with one event source per calendar (events and tasks
// due), the birthday and holiday overlays, drag and drop, the event dialog and
// reminders while the page is open. Times are shown and edited in the account's time
// zone (FullCalendar's Luxon plugin), like the reminders, mails and invitations; the
// organization's branding and the sharing dialog.
import { language, t } from "../lib/i18n.js";
import * as calendarDialog from "../components/calendar-dialog.js";
import { makeDialog } from "../components/dialog.js";
import * as eventForm from "../components/event-form.js";
import * as holidays from "../components/holidays.js";
import { listen, toast } from "../components/notify.js";
import { openShare } from "../components/share-dialog.js";
import * as tasks from "../components/tasks.js";
import { openTransfer } from "../components/transfer-dialog.js";
import { api, logout, setCsrf } from "../lib/api.js";
import { brandCurrentOrg } from "../lib/branding.js";
import { $, h } from "../lib/dom.js";
import { registerServiceWorker } from "../lib/pwa.js";
import { browserZone, displayZone, nextHour } from "../lib/time.js";

const BIRTHDAYS = "birthdays";
const hidden = new Set(JSON.parse(localStorage.getItem("calcard.hidden") || "[]"));
let calendars = [];
let calendar;
let prefs = { timezone: "", week_start_chosen: false, default_calendar: "" }; // from Settings
let zone; // the time zone the calendar shows: the account's (see time.displayZone)

function toEvent(item) {
  return {
    id: `${item.calendar}${item.href}|${item.recurrence_id || ""}`,
    title: item.title,
    start: item.start,
    end: item.end,
    allDay: item.all_day,
    extendedProps: item,
  };
}

function source(info) {
  return {
    id: info.path,
    color: info.color,
    editable: info.writable,
    events: async (range) => {
      const params = new URLSearchParams({
        calendar: info.path,
        start: range.startStr,
        end: range.endStr,
      });
      const [answer, due] = await Promise.all([
        api("GET", `/api/events?${params}`),
        tasks.taskEvents(info, range),
      ]);
      return [...answer.events.map(toEvent), ...due];
    },
  };
}

const birthdaySource = {
  id: BIRTHDAYS,
  color: "#db2777",
  editable: false,
  events: async (range) => {
    const params = new URLSearchParams({
      start: range.startStr.slice(0, 10),
      end: range.endStr.slice(0, 10),
    });
    const answer = await api("GET", `/api/birthdays?${params}`);
    return answer.birthdays.map((b) => ({
      title: `🎂 ${b.name}${b.age ? ` (${b.age})` : ""}`,
      start: b.date,
      allDay: true,
      classNames: ["birthday"],
      extendedProps: { birthday: true },
    }));
  },
};

function toggleSource(id, shown, make) {
  const existing = calendar.getEventSourceById(id);
  if (shown && !existing) calendar.addEventSource(make());
  if (!shown && existing) existing.remove();
  if (shown) hidden.delete(id);
  else hidden.add(id);
  localStorage.setItem("calcard.hidden", JSON.stringify([...hidden]));
}

function calendarList(me) {
  const list = $("calendar-list");
  list.replaceChildren(
    ...calendars.map((info) => {
      const box = h("input", {
        type: "checkbox",
        checked: !hidden.has(info.path),
        onchange: () => toggleSource(info.path, box.checked, () => source(info)),
      });
      const swatch = h("span", { className: "swatch" });
      swatch.style.background = info.color;
      const text = " " + (info.writable ? info.name : t("{name} (read-only)", { name: info.name }));
      const item = h("li", {}, h("label", { className: "toggle" }, box, swatch, text));
      if (info.owner === me) item.append(calendarDialog.editButton(info));
      return item;
    }),
  );
}

function birthdayToggle() {
  const birthdays = $("show-birthdays");
  birthdays.checked = !hidden.has(BIRTHDAYS);
  birthdays.addEventListener("change", () =>
    toggleSource(BIRTHDAYS, birthdays.checked, () => birthdaySource),
  );
}

/** Calendars were created, renamed, recolored or deleted: sources and lists follow. */
async function reloadCalendars(me) {
  calendars = (await api("GET", "/api/calendars")).calendars;
  for (const existing of calendar.getEventSources()) {
    if (existing.id.startsWith("/")) existing.remove();
  }
  for (const info of calendars.filter((c) => !hidden.has(c.path))) {
    calendar.addEventSource(source(info));
  }
  calendarList(me);
  tasks.setCalendars(calendars);
  await holidays.refreshSubscriptions();
}

/** Asks whether a drag changes one occurrence or the series: the pressed button's value
 * becomes the dialog's returnValue (a form with method "dialog"). */
const scopeDialog = makeDialog({
  id: "scope-dialog",
  titleId: "scope-title",
  title: t("Move a repeating event"),
  form: { method: "dialog" },
  content: [h("p", {}, t("Change only this occurrence, or all occurrences?"))],
  start: [h("button", { value: "cancel" }, t("Cancel"))],
  end: [
    h("button", { value: "occurrence", class: "primary" }, t("This occurrence")),
    h("button", { value: "series" }, t("All occurrences")),
  ],
});

function askScope() {
  return new Promise((resolve) => {
    const answered = () => resolve(scopeDialog.returnValue || "cancel");
    scopeDialog.addEventListener("close", answered, { once: true });
    scopeDialog.showModal();
  });
}

async function moved(info) {
  const item = info.event.extendedProps;
  const scope = item.recurring ? await askScope() : "series";
  if (scope === "cancel") {
    info.revert();
    return;
  }
  const end = info.event.end || new Date(info.event.start.getTime() + 864e5);
  const allDay = info.event.allDay;
  const format = (date) => (allDay ? calendar.formatIso(date, true) : date.toISOString());
  try {
    await api("POST", "/api/event/move", {
      calendar: item.calendar,
      href: item.href,
      etag: item.etag,
      recurrence_id: scope === "occurrence" ? item.recurrence_id : null,
      start: allDay ? format(info.event.start).slice(0, 10) : format(info.event.start),
      end: allDay ? format(end).slice(0, 10) : format(end),
      old_start: allDay ? item.start.slice(0, 10) : info.oldEvent.start.toISOString(),
    });
  } catch (failure) {
    info.revert();
    toast(failure.message);
  }
  calendar.refetchEvents();
}

function clicked(info) {
  info.jsEvent.preventDefault();
  const { birthday, holiday, task } = info.event.extendedProps;
  if (birthday || holiday) return;
  if (task) {
    tasks.openTask(task);
    return;
  }
  eventForm.openExisting(info.event.extendedProps).catch((failure) => toast(failure.message));
}

function newEvent(start, end, allDay) {
  if (!calendars.some((c) => c.writable)) {
    toast(t("You have no calendar you may write to."));
    return;
  }
  eventForm.openNew(calendars, start, end, allDay, prefs.default_calendar);
}

function createCalendar(element) {
  const phone = window.matchMedia("(max-width: 700px)").matches;
  return new FullCalendar.Calendar(element, {
    initialView: phone ? "listWeek" : "timeGridWeek",
    timeZone: zone,
    // The week starts on the day the user chose, else as FullCalendar's locale starts it.
    ...(prefs.week_start_chosen ? { firstDay: prefs.week_start } : {}),
    nowIndicator: true,
    editable: true,
    selectable: true,
    height: "100%",
    headerToolbar: phone
      ? { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridDay,listWeek" }
      : {
          left: "prev,next today",
          center: "title",
          right: "dayGridMonth,timeGridWeek,timeGridDay,listWeek",
        },
    // FullCalendar's own locale names the views, weekdays and months in the language.
    locale: language,
    ...(language === "en"
      ? { buttonText: { today: "Today", month: "Month", week: "Week", day: "Day", list: "List" } }
      : {}),
    eventSources: [
      ...calendars.filter((c) => !hidden.has(c.path)).map(source),
      ...(hidden.has(BIRTHDAYS) ? [] : [birthdaySource]),
    ],
    select: (info) => {
      calendar.unselect();
      newEvent(info.start, info.end, info.allDay);
    },
    eventClick: clicked,
    eventDrop: moved,
    eventResize: moved,
    eventDidMount: (info) => {
      if (info.event.extendedProps.location) info.el.title = info.event.extendedProps.location;
    },
  });
}

function menu() {
  const button = $("menu-button");
  const sidebar = $("sidebar");
  button.addEventListener("click", () => {
    const open = sidebar.classList.toggle("open");
    button.setAttribute("aria-expanded", String(open));
  });
}

/** An account still on the default zone takes this browser's: the zone the person lives in. */
async function adoptBrowserZone(found) {
  if (found.timezone_chosen || found.timezone === browserZone()) return found;
  return api("PATCH", "/api/me/preferences", { timezone: browserZone() }).catch(() => found);
}

async function zoneHint() {
  const prefs = await api("GET", "/api/me/preferences");
  const hint = $("zone-hint");
  const shown = displayZone(prefs.timezone);
  if (!hint || shown === browserZone()) return;
  hint.textContent =
    shown === prefs.timezone
      ? t(
          "Times are shown in your account's time zone, {zone}, like reminders and mails;" +
            " this device is in {device} (change it in Settings).",
          { zone: shown, device: browserZone() },
        )
      : t(
          "Times are shown in this device's time zone, {zone}: this browser does not know" +
            " your account's, {account}.",
          { zone: shown, account: prefs.timezone },
        );
  hint.hidden = false;
}

async function start() {
  const me = await api("GET", "/api/session");
  setCsrf(me.csrf);
  $("who").textContent = me.name || me.login;
  $("dav-url").textContent = `${window.location.origin}/`;
  $("dav-login").textContent = me.login;
  calendars = (await api("GET", "/api/calendars")).calendars;
  prefs = await adoptBrowserZone(await api("GET", "/api/me/preferences"));
  zone = displayZone(prefs.timezone);
  calendar = createCalendar($("calendar"));
  calendar.render();
  calendarList(me.login);
  birthdayToggle();
  menu();
  eventForm.setup(() => calendar.refetchEvents(), zone, prefs.week_start);
  const reload = () => reloadCalendars(me.login).catch((failure) => toast(failure.message));
  calendarDialog.setup(reload);
  tasks.setup(
    calendars,
    (layoutOnly) => (layoutOnly ? calendar.updateSize() : calendar.refetchEvents()),
    zone,
  );
  holidays.setup(calendar, reload).catch((failure) => toast(failure.message));
  const create = $("new-event");
  create.addEventListener("click", () => {
    const begin = nextHour(zone);
    newEvent(begin, new Date(begin.getTime() + 3600e3), false);
  });
  const leave = $("logout");
  leave.addEventListener("click", logout);
  create.disabled = leave.disabled = false; // usable once their handlers are in place
  // Paper has other widths and hour heights: lay the calendar out again for it and back.
  window.matchMedia("print").addEventListener("change", () => calendar.updateSize());
  $("open-transfer").addEventListener("click", () => {
    const first = calendars.find((c) => c.writable);
    openTransfer(first?.path, () => calendar.refetchEvents()).catch((f) => toast(f.message));
  });
  $("open-transfer").disabled = false; // buttons wake up once wired
  await listen();
  registerServiceWorker();
}

start().catch((failure) =>
  toast(t("The calendar could not start: {error}", { error: failure.message })),
);

// Not part of start(): sharing, branding and the zone hint work even if the calendar fails.
const share = $("share-button");
share.addEventListener("click", () => openShare().catch((failure) => toast(failure.message)));
share.disabled = false; // usable once its handler is in place
brandCurrentOrg().catch(() => {});
zoneHint().catch(() => {});
