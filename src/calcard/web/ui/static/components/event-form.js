// The event dialog: fields <-> the /api/event JSON, recurrence, reminders, participants
// and the slot finder.
import * as attachmentList from "./attachment-list.js";
import { api } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { addDays, instantOf, wallTime } from "../lib/time.js";

const dialog = document.getElementById("event-dialog");
const form = document.getElementById("event-form");
const error = document.getElementById("event-error");
const alarmList = document.getElementById("alarm-list");
const alarmRow = document.getElementById("alarm-row");
const participants = document.getElementById("participant-list");
const findResult = document.getElementById("find-result");
let current = null; // {calendar, href, etag, recurrence_id, recurring} of the edited event
let onSaved = () => {};
let zone = "UTC"; // the calendar's time zone (the account's): new events' default

function el(id) {
  return document.getElementById(id);
}

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
  el("weekdays").hidden = form.freq.value !== "WEEKLY";
  el("until-field").hidden = form.ends.value !== "until";
  el("count-field").hidden = form.ends.value !== "count";
  form.ends.disabled = !form.freq.value;
}

function addAlarm(alarm = { minutes: 15, action: "DISPLAY", repeat: "" }) {
  const row = alarmRow.content.firstElementChild.cloneNode(true);
  row.querySelector("[name=alarm-minutes]").value = String(alarm.minutes);
  row.querySelector("[name=alarm-action]").value = alarm.action;
  row.querySelector("[name=alarm-repeat]").value = alarm.repeat || "";
  row.querySelector(".remove-alarm").addEventListener("click", () => row.remove());
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
  form.calendar.replaceChildren(...writable.map((c) => new Option(c.name, c.path)));
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
  el("event-dialog-title").textContent = "New event";
  el("calendar-field").hidden = false;
  el("scope-fields").hidden = true;
  el("delete-event").hidden = true;
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
  el("event-dialog-title").textContent = data.writable ? "Edit event" : "Event (read-only)";
  el("calendar-field").hidden = true;
  el("scope-fields").hidden = !occurrence.recurring;
  form.scope.value = "occurrence";
  el("delete-event").hidden = !data.writable;
  el("save-event").disabled = !data.writable;
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
  findResult.textContent = "Looking…";
  try {
    const answer = await api("POST", "/api/freebusy/find", {
      attendees: list,
      start: start.toISOString(),
      duration_minutes: minutes,
    });
    showParticipants(list, answer.unknown_reasons || {});
    if (!answer.start) {
      findResult.textContent = "Nobody is free together within the next two weeks.";
      return;
    }
    setAllDay(false);
    form.start.value = wallTime(new Date(answer.start), inZone);
    form.end.value = wallTime(new Date(answer.end), inZone);
    const unknown = answer.unknown.length ? " (* availability unknown)" : "";
    findResult.textContent = `Everyone is free from ${form.start.value.replace("T", " ")}${unknown}.`;
  } catch (failure) {
    findResult.textContent = failure.message;
  }
}

/** `saved` runs after a change; `timeZone` is the calendar's, the default of new events. */
export function setup(saved, timeZone) {
  onSaved = saved;
  zone = timeZone;
  form.addEventListener("submit", save);
  form.all_day.addEventListener("change", () => setAllDay(form.all_day.checked));
  form.freq.addEventListener("change", showRepeatFields);
  form.ends.addEventListener("change", showRepeatFields);
  el("add-alarm").addEventListener("click", () => addAlarm());
  el("cancel-event").addEventListener("click", () => dialog.close());
  el("delete-event").addEventListener("click", remove);
  el("find-time").addEventListener("click", findTime);
  attachmentList.setup(form);
  const zones = Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : [];
  el("timezones").replaceChildren(...zones.map((z) => new Option(z)));
}
