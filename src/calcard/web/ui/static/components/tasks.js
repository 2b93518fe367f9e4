// Tasks (VTODO): the task pane (one list per calendar), the task dialog, and the
// tasks with a due date as entries of the calendar views.
import { toast } from "./notify.js";
import { api } from "../lib/api.js";
import { h } from "../lib/dom.js";

const pane = document.getElementById("tasks-pane");
const paneButton = document.getElementById("tasks-button");
const listSelect = document.getElementById("task-calendar");
const showCompleted = document.getElementById("show-completed");
const list = document.getElementById("task-list");
const dialog = document.getElementById("task-dialog");
const form = document.getElementById("task-form");
const error = document.getElementById("task-error");
const STORED = "calcard.tasks";
let calendars = [];
let current = null; // the task being edited, null for a new one
let changed = () => {};
let zone = "UTC"; // the calendar's time zone (the account's): due times show in it

function remembered() {
  return JSON.parse(localStorage.getItem(STORED) || "{}");
}

function remember(change) {
  localStorage.setItem(STORED, JSON.stringify({ ...remembered(), ...change }));
}

function priorityName(priority) {
  if (!priority) return "";
  return priority < 5 ? "high" : priority === 5 ? "medium" : "low";
}

function dueText(task) {
  if (!task.due) return "";
  const options = task.all_day
    ? { dateStyle: "medium", timeZone: "UTC" }
    : { dateStyle: "medium", timeStyle: "short", timeZone: zone };
  const when = new Date(task.all_day ? `${task.due}T00:00:00Z` : task.due);
  return new Intl.DateTimeFormat(undefined, options).format(when);
}

/** The tasks of one calendar due in FullCalendar's range, as calendar entries. */
export async function taskEvents(info, range) {
  const params = new URLSearchParams({
    calendar: info.path,
    start: range.startStr,
    end: range.endStr,
  });
  const answer = await api("GET", `/api/tasks?${params}`);
  return answer.tasks.map((task) => ({
    id: `task|${task.calendar}${task.href}`,
    title: `${task.completed ? "☑" : "☐"} ${task.summary}`,
    start: task.due,
    allDay: task.all_day,
    editable: false,
    classNames: ["task", ...(task.completed ? ["done"] : [])],
    extendedProps: { task },
  }));
}

function taskItem(task) {
  const box = h("input", {
    type: "checkbox",
    checked: task.completed,
    disabled: !task.writable,
    "aria-label": `Completed: ${task.summary}`,
    onchange: () => complete(task, box.checked),
  });
  const priority = priorityName(task.priority);
  const open = h(
    "button",
    { type: "button", className: "task-open", onclick: () => openTask(task) },
    h("span", { className: "summary" }, task.summary),
    priority ? h("span", { className: `priority ${priority}` }, priority) : null,
    task.due ? h("span", { className: "due" }, dueText(task)) : null,
  );
  return h("li", { className: `task-item${task.completed ? " done" : ""}` }, box, open);
}

async function showList() {
  const path = listSelect.value;
  if (!path || pane.hidden) return;
  const params = new URLSearchParams({ calendar: path, completed: String(showCompleted.checked) });
  try {
    const answer = await api("GET", `/api/tasks?${params}`);
    list.replaceChildren(...answer.tasks.map(taskItem));
    document.getElementById("no-tasks").hidden = answer.tasks.length > 0;
  } catch (failure) {
    toast(failure.message);
  }
}

async function complete(task, done) {
  try {
    await api("POST", "/api/task/complete", {
      calendar: task.calendar,
      href: task.href,
      etag: task.etag,
      completed: done,
    });
  } catch (failure) {
    toast(failure.message);
  }
  refresh();
}

function refresh() {
  showList();
  changed();
}

function showDueFields() {
  document.getElementById("due-date-field").hidden = form.due_kind.value !== "date";
  document.getElementById("due-time-field").hidden = form.due_kind.value !== "time";
}

function fillPriority(priority) {
  const known = [...form.priority.options].some((o) => Number(o.value) === priority);
  if (!known) form.priority.append(new Option(`priority ${priority}`, String(priority)));
  form.priority.value = String(priority);
}

function fill(task) {
  form.summary.value = task.summary || "";
  form.due_kind.value = !task.due ? "" : task.all_day ? "date" : "time";
  // A timed due date comes in the task's own zone: its first 16 characters are that wall time.
  form.due_date.value = task.due ? task.due.slice(0, 10) : "";
  form.due_time.value = task.due && !task.all_day ? task.due.slice(0, 16) : "";
  showDueFields();
  fillPriority(task.priority || 0);
  form.description.value = task.description || "";
  form.completed.checked = Boolean(task.completed);
  error.hidden = true;
}

function writableCalendars() {
  return calendars.filter((c) => c.writable);
}

/** Open a task (from the list or the calendar) in the dialog. */
export function openTask(task) {
  current = task;
  fill(task);
  document.getElementById("task-dialog-title").textContent = task.writable
    ? "Edit task"
    : "Task (read-only)";
  document.getElementById("task-calendar-field").hidden = true;
  document.getElementById("delete-task").hidden = !task.writable;
  document.getElementById("save-task").disabled = !task.writable;
  dialog.showModal();
}

function openNew() {
  const choices = writableCalendars();
  if (!choices.length) {
    toast("You have no calendar you may write to.");
    return;
  }
  current = null;
  form.calendar.replaceChildren(...choices.map((c) => new Option(c.name, c.path)));
  if (choices.some((c) => c.path === listSelect.value)) form.calendar.value = listSelect.value;
  fill({ summary: "", priority: 0 });
  document.getElementById("task-dialog-title").textContent = "New task";
  document.getElementById("task-calendar-field").hidden = false;
  document.getElementById("delete-task").hidden = true;
  document.getElementById("save-task").disabled = false;
  dialog.showModal();
  form.summary.focus();
}

function read() {
  const kind = form.due_kind.value;
  return {
    calendar: current ? current.calendar : form.calendar.value,
    href: current ? current.href : undefined,
    etag: current ? current.etag : undefined,
    summary: form.summary.value,
    due: kind === "date" ? form.due_date.value : kind === "time" ? form.due_time.value : null,
    timezone: current && current.due && !current.all_day ? current.timezone : zone,
    priority: Number(form.priority.value),
    description: form.description.value,
    completed: form.completed.checked,
  };
}

async function save(event) {
  event.preventDefault();
  try {
    await api(current ? "PUT" : "POST", "/api/task", read());
    dialog.close();
    refresh();
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  }
}

async function remove() {
  const params = new URLSearchParams({ calendar: current.calendar, href: current.href });
  try {
    await api("DELETE", `/api/task?${params}`);
    dialog.close();
    refresh();
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
  }
}

function togglePane(open, focus = true) {
  pane.hidden = !open;
  paneButton.setAttribute("aria-expanded", String(open));
  remember({ open });
  changed(true);
  if (open) showList();
  if (focus) (open ? listSelect : paneButton).focus();
}

/** The calendars changed (created, renamed, deleted): the pane's list choice follows. */
export function setCalendars(found) {
  calendars = found;
  const chosen = listSelect.value || remembered().calendar;
  listSelect.replaceChildren(...found.map((c) => new Option(c.name, c.path)));
  const fallback = (writableCalendars()[0] || found[0] || {}).path;
  listSelect.value = found.some((c) => c.path === chosen) ? chosen : fallback || "";
  showList();
}

/** `onChange(layoutOnly)` runs after tasks changed, or (true) when the pane opened or closed;
 * `timeZone` is the calendar's. */
export function setup(found, onChange, timeZone) {
  changed = onChange;
  zone = timeZone;
  setCalendars(found);
  showCompleted.checked = Boolean(remembered().completed);
  form.addEventListener("submit", save);
  form.due_kind.addEventListener("change", showDueFields);
  document.getElementById("cancel-task").addEventListener("click", () => dialog.close());
  document.getElementById("delete-task").addEventListener("click", remove);
  document.getElementById("new-task").addEventListener("click", openNew);
  document.getElementById("close-tasks").addEventListener("click", () => togglePane(false));
  paneButton.addEventListener("click", () => togglePane(pane.hidden));
  paneButton.disabled = false; // a click before this did nothing
  listSelect.addEventListener("change", () => {
    remember({ calendar: listSelect.value });
    showList();
  });
  showCompleted.addEventListener("change", () => {
    remember({ completed: showCompleted.checked });
    showList();
  });
  if (remembered().open) togglePane(true, false);
}
