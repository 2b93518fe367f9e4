// The event dialog: fields <-> the /api/event JSON, recurrence, reminders, participants
// and the slot finder.
import { t } from "../lib/i18n.js";
import * as attachmentList from "./attachment-list.js";
import { closeButton, deleteButton, makeDialog, submitButton } from "./dialog.js";
import { api } from "../lib/api.js";
import { $, h, options } from "../lib/dom.js";
import { addDays, instantOf, wallTime } from "../lib/time.js";

const FREQUENCIES = {
  "": t("does not repeat"),
  DAILY: t("day"),
  WEEKLY: t("week"),
  MONTHLY: t("month"),
  YEARLY: t("year"),
};
const WEEKDAYS = {
  MO: t("Mo"),
  TU: t("Tu"),
  WE: t("We"),
  TH: t("Th"),
  FR: t("Fr"),
  SA: t("Sa"),
  SU: t("Su"),
};
const ENDS = { never: t("never"), until: t("on date"), count: t("after") };
const ALARM_TIMES = {
  0: t("at start"),
  5: t("5 minutes before"),
  10: t("10 minutes before"),
  15: t("15 minutes before"),
  30: t("30 minutes before"),
  60: t("1 hour before"),
  120: t("2 hours before"),
  1440: t("1 day before"),
  10080: t("1 week before"),
};
const ALARM_ACTIONS = { DISPLAY: t("notification (browser, chat)"), EMAIL: t("e-mail") };
const ALARM_REPEATS = {
  "": t("once"),
  hourly: t("hourly until stopped"),
  daily: t("daily until stopped"),
  weekly: t("weekly until stopped"),
};

function number(name, value) {
  return h("input", { name, type: "number", min: 1, max: 1000, value });
}

function field(text, control, props = {}) {
  return h("label", props, `${text} `, control);
}

function check(type, name, value, text, checked = false) {
  return h("label", {}, h("input", { type, name, value, checked }), text);
}

function repeatFields() {
  return h(
    "fieldset",
    { id: "repeat-fields" },
    h("legend", {}, t("Repeat")),
    h(
      "div",
      { class: "row" },
      field(t("Every"), h("select", { name: "freq" }, options(FREQUENCIES))),
      field(t("Interval"), number("interval", 1)),
    ),
    h(
      "div",
      { id: "weekdays", class: "weekdays", hidden: true },
      ...Object.entries(WEEKDAYS).map(([value, text]) => check("checkbox", "byday", value, text)),
    ),
    h(
      "div",
      { class: "row" },
      field(t("Ends"), h("select", { name: "ends" }, options(ENDS))),
      field(t("Last day"), h("input", { name: "until", type: "date" }), {
        id: "until-field",
        hidden: true,
      }),
      field(t("Occurrences"), number("count", 10), { id: "count-field", hidden: true }),
    ),
  );
}

function attachmentFields() {
  const url = h("input", {
    name: "attachment-url",
    type: "url",
    placeholder: "https://…",
    autocomplete: "off",
    "aria-label": t("Link to attach"),
  });
  const add = h("button", { type: "button", id: "add-attachment" }, t("Add link"));
  return h(
    "fieldset",
    {},
    h("legend", {}, t("Attachments (links)")),
    h("ul", { id: "attachment-list", class: "attachment-list" }),
    h("div", { class: "link-row" }, url, add),
    h("p", { id: "attachment-error", class: "error", role: "alert", hidden: true }),
  );
}

function participantFields() {
  const attendees = h("input", {
    name: "attendees",
    autocomplete: "off",
    placeholder: "bob, ana@example.org",
  });
  return h(
    "fieldset",
    {},
    h("legend", {}, t("Participants")),
    field(t("Logins or e-mail addresses, separated by commas"), attendees),
    h("ul", { id: "participant-list", class: "participants" }),
    h("button", { type: "button", id: "find-time" }, t("Find the next time everyone is free")),
    h("p", { id: "find-result", class: "hint", role: "status" }),
  );
}

function build() {
  const scope = h(
    "fieldset",
    { id: "scope-fields", class: "scope", hidden: true },
    h("legend", {}, t("This event repeats. Change")),
    check("radio", "scope", "occurrence", " " + t("only this occurrence"), true),
    check("radio", "scope", "series", " " + t("all occurrences")),
  );
  const allDay = h("input", { type: "checkbox", name: "all_day" });
  return makeDialog({
    id: "event-dialog",
    title: t("Event"),
    form: { id: "event-form", method: "dialog" },
    content: [
      scope,
      field(t("Title"), h("input", { name: "title", required: true, maxlength: 1000 })),
      field(t("Calendar"), h("select", { name: "calendar" }), { id: "calendar-field" }),
      h("label", { class: "inline" }, allDay, " ", t("All day")),
      h(
        "div",
        { class: "row" },
        field(t("Starts"), h("input", { name: "start", type: "datetime-local", required: true })),
        field(t("Ends"), h("input", { name: "end", type: "datetime-local", required: true })),
      ),
      field(t("Time zone"), h("input", { name: "timezone", list: "timezones", autocomplete: "off" })),
      h("datalist", { id: "timezones" }),
      field(t("Location"), h("input", { name: "location", maxlength: 1000 })),
      field(t("Description"), h("textarea", { name: "description", rows: 2 })),
      repeatFields(),
      h(
        "fieldset",
        {},
        h("legend", {}, t("Reminders")),
        h("ul", { id: "alarm-list", class: "alarm-list" }),
        h("button", { type: "button", id: "add-alarm" }, t("Add reminder")),
      ),
      attachmentFields(),
      participantFields(),
      h("p", { id: "event-error", class: "error", role: "alert", hidden: true }),
    ],
    start: [deleteButton("delete-event")],
    end: [
      closeButton(t("Cancel"), { id: "cancel-event", value: "cancel" }),
      submitButton(t("Save"), { id: "save-event" }),
    ],
  });
}

const dialog = build();
const form = $("event-form");
const error = $("event-error");
const alarmList = $("alarm-list");
const participants = $("participant-list");
const findResult = $("find-result");
let current = null; // {calendar, href, etag, recurrence_id, recurring} of the edited event
let onSaved = () => {};
let zone = "UTC"; // the calendar's time zone (the account's): new events' default

function setAllDay(allDay) {
  form.all_day.checked = allDay;
  for (const input of [form.start, form.end]) {
    const value = input.value;
    input.type = allDay ? "date" : "datetime-local";
    input.value = allDay ? value.slice(0, 10) : value.length === 10 ? `${value}T09:00` : value;
  }
  form.timezone.disabled = allDay;
}

function showRepeatFields() {
  $("weekdays").hidden = form.freq.value !== "WEEKLY";
  $("until-field").hidden = form.ends.value !== "until";
  $("count-field").hidden = form.ends.value !== "count";
  form.ends.disabled = !form.freq.value;
}

function addAlarm(alarm = { minutes: 15, action: "DISPLAY", repeat: "" }) {
  const remove = h(
    "button",
    {
      type: "button",
      class: "icon-button remove-alarm",
      "aria-label": t("Remove reminder"),
      onclick: () => row.remove(),
    },
    "✕",
  );
  const row = h(
    "li",
    { class: "alarm" },
    h("select", { name: "alarm-minutes", "aria-label": t("When") }, options(ALARM_TIMES)),
    h("select", { name: "alarm-action", "aria-label": t("How") }, options(ALARM_ACTIONS)),
    h("select", { name: "alarm-repeat", "aria-label": t("Repeat") }, options(ALARM_REPEATS)),
    remove,
  );
  row.querySelector("[name=alarm-minutes]").value = String(alarm.minutes);
  row.querySelector("[name=alarm-action]").value = alarm.action;
  row.querySelector("[name=alarm-repeat]").value = alarm.repeat || "";
  alarmList.append(row);
}

function readAlarms() {
  return [...alarmList.children].map((row) => ({
    minutes: Number(row.querySelector("[name=alarm-minutes]").value),
    action: row.querySelector("[name=alarm-action]").value,
    repeat: row.querySelector("[name=alarm-repeat]").value,
  }));
}

function attendees() {
  return form.attendees.value
    .split(/[,;\s]+/)
    .map((a) => a.trim())
    .filter(Boolean);
}

function readRule() {
  if (!form.freq.value) return null;
  const byday = [...form.querySelectorAll("[name=byday]:checked")].map((c) => c.value);
  return {
    freq: form.freq.value,
    interval: Number(form.interval.value) || 1,
    byday: form.freq.value === "WEEKLY" ? byday : [],
    until: form.ends.value === "until" ? form.until.value : null,
    count: form.ends.value === "count" ? Number(form.count.value) : null,
  };
}

function fillRule(rule) {
  form.freq.value = rule ? rule.freq : "";
  form.interval.value = rule ? rule.interval : 1;
  for (const box of form.querySelectorAll("[name=byday]")) {
    box.checked = Boolean(rule && rule.byday.includes(box.value));
  }
  form.ends.value = rule && rule.until ? "until" : rule && rule.count ? "count" : "never";
  form.until.value = (rule && rule.until) || "";
  form.count.value = (rule && rule.count) || 10;
  showRepeatFields();
}

function read() {
  const scope = form.scope.value;
  const occurrence = current && current.recurring && scope === "occurrence";
  return {
    calendar: current ? current.calendar : form.calendar.value,
    href: current ? current.href : undefined,
    etag: current ? current.etag : undefined,
    recurrence_id: occurrence ? current.recurrence_id : null,
    title: form.title.value,
    all_day: form.all_day.checked,
    start: form.start.value,
    // The form shows an all-day event's last day; iCalendar wants the day after.
    end: form.all_day.checked ? addDays(form.end.value, 1) : form.end.value,
    timezone: form.timezone.value || zone,
    location: form.location.value,
    description: form.description.value,
    rrule: occurrence ? null : readRule(),
    alarms: readAlarms(),
    attendees: attendees(),
    attachments: attachmentList.read(),
  };
}

function fill(data) {
  form.title.value = data.title || "";
  form.start.type = form.end.type = "datetime-local";
  form.start.value = data.start;
  form.end.value = data.all_day ? addDays(data.end, -1) : data.end;
  setAllDay(Boolean(data.all_day));
  form.timezone.value = data.timezone || zone;
  form.location.value = data.location || "";
  form.description.value = data.description || "";
  fillRule(data.rrule);
  alarmList.replaceChildren();
  (data.alarms || []).forEach(addAlarm);
  form.attendees.value = (data.attendees || []).join(", ");
  attachmentList.fill(data.attachments || []);
  participants.replaceChildren();
  findResult.textContent = "";
  error.hidden = true;
}

function fillCalendars(calendars, preferred) {
  const writable = calendars.filter((c) => c.writable);
  form.calendar.replaceChildren(...writable.map((c) => h("option", { value: c.path }, c.name)));
  if (writable.some((c) => c.path === preferred)) form.calendar.value = preferred;
}

/** A new event from a clicked or selected range (FullCalendar dates), in the preferred calendar. */
export function openNew(calendars, start, end, allDay, preferred = "") {
  current = null;
  fillCalendars(calendars, preferred);
  const day = (date) => wallTime(date, zone).slice(0, 10);
  fill({
    title: "",
    all_day: allDay,
    start: allDay ? day(start) : wallTime(start, zone),
    end: allDay ? day(end) : wallTime(end, zone),
    timezone: zone,
    alarms: [],
  });
  $("event-dialog-title").textContent = t("New event");
  $("calendar-field").hidden = false;
  $("scope-fields").hidden = true;
  $("delete-event").hidden = true;
  dialog.showModal();
  form.title.focus();
}

/** Edit an existing event (an occurrence of it, for a series). */
export async function openExisting(occurrence) {
  const params = new URLSearchParams({ calendar: occurrence.calendar, href: occurrence.href });
  if (occurrence.recurrence_id) params.set("recurrence_id", occurrence.recurrence_id);
  const data = await api("GET", `/api/event?${params}`);
  current = { ...data, recurring: occurrence.recurring };
  fill(data);
  $("event-dialog-title").textContent = data.writable ? t("Edit event") : t("Event (read-only)");
  $("calendar-field").hidden = true;
  $("scope-fields").hidden = !occurrence.recurring;
  form.scope.value = "occurrence";
  $("delete-event").hidden = !data.writable;
  $("save-event").disabled = !data.writable;
  dialog.showModal();
}

async function save(event) {
  event.preventDefault();
  error.hidden = true;
  try {
    await api(current ? "PUT" : "POST", "/api/event", read());
    dialog.close();
    onSaved();
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  }
}

async function remove() {
  const params = new URLSearchParams({ calendar: current.calendar, href: current.href });
  if (current.recurring && form.scope.value === "occurrence") {
    params.set("recurrence_id", current.recurrence_id);
  }
  try {
    await api("DELETE", `/api/event?${params}`);
    dialog.close();
    onSaved();
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  }
}

function showParticipants(list, reasons) {
  participants.replaceChildren(
    ...list.map((name) => {
      const reason = reasons[name];
      const mark = reason ? h("abbr", { className: "unknown", title: reason }, "*") : null;
      return h("li", {}, name, mark);
    }),
  );
}

async function findTime() {
  const inZone = form.all_day.checked ? zone : form.timezone.value || zone;
  const startWall = form.all_day.checked ? `${form.start.value}T09:00` : form.start.value;
  const endWall = form.all_day.checked ? `${form.start.value}T10:00` : form.end.value;
  const start = instantOf(startWall, inZone);
  const minutes = Math.max(5, Math.round((instantOf(endWall, inZone) - start) / 60000));
  const list = attendees();
  findResult.textContent = t("Looking…");
  try {
    const answer = await api("POST", "/api/freebusy/find", {
      attendees: list,
      start: start.toISOString(),
      duration_minutes: minutes,
    });
    showParticipants(list, answer.unknown_reasons || {});
    if (!answer.start) {
      findResult.textContent = t("Nobody is free together within the next two weeks.");
      return;
    }
    setAllDay(false);
    form.start.value = wallTime(new Date(answer.start), inZone);
    form.end.value = wallTime(new Date(answer.end), inZone);
    const time = form.start.value.replace("T", " ");
    findResult.textContent = answer.unknown.length
      ? t("Everyone is free from {time} (* availability unknown).", { time })
      : t("Everyone is free from {time}.", { time });
  } catch (failure) {
    findResult.textContent = failure.message;
  }
}

/** The weekday boxes in the order of the user's week: `weekStart` is its first day,
 * 0 = Sunday as FullCalendar's firstDay (the calendar's own header starts there too). */
function orderWeekdays(weekStart) {
  const week = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];
  const boxes = $("weekdays");
  const label = Object.fromEntries([...boxes.children].map((l) => [l.firstChild.value, l]));
  boxes.replaceChildren(...week.map((_, i) => label[week[(weekStart + i) % 7]]));
}

/** `saved` runs after a change; `timeZone` is the calendar's, the default of new events;
 * `weekStart` the first day of the user's week. */
export function setup(saved, timeZone, weekStart) {
  onSaved = saved;
  zone = timeZone;
  orderWeekdays(weekStart);
  form.addEventListener("submit", save);
  form.all_day.addEventListener("change", () => setAllDay(form.all_day.checked));
  form.freq.addEventListener("change", showRepeatFields);
  form.ends.addEventListener("change", showRepeatFields);
  $("add-alarm").addEventListener("click", () => addAlarm());
  $("delete-event").addEventListener("click", remove);
  $("find-time").addEventListener("click", findTime);
  attachmentList.setup(form);
  const zones = Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : [];
  $("timezones").replaceChildren(...zones.map((z) => h("option", {}, z)));
}
