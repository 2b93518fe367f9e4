// Tasks (VTODO): the task pane (one list per calendar), the task dialog, and the
// tasks with a due date as entries of the calendar views.
import { t } from "../lib/i18n.js";
import { closeButton, deleteButton, makeDialog, submitButton } from "./dialog.js";
import { toast } from "./notify.js";
import { api } from "../lib/api.js";
import { $, h, options } from "../lib/dom.js";
import { dateTime } from "../lib/format.js";

const DUE_KINDS = { "": t("no due date"), date: t("on a day"), time: t("at a time") };
const PRIORITY_NAMES = { high: t("high"), medium: t("medium"), low: t("low") };
const PRIORITIES = { 0: t("none"), 1: t("high"), 5: t("medium"), 9: t("low") };

function build() {
  const summary = h("input", {
    name: "summary",
    required: true,
    maxlength: 1000,
    autocomplete: "off",
  });
  const dueDate = h("input", { name: "due_date", type: "date" });
  const dueTime = h("input", { name: "due_time", type: "datetime-local" });
  const completed = h("input", { type: "checkbox", name: "completed" });
  return makeDialog({
    id: "task-dialog",
    title: t("Task"),
    form: { id: "task-form", method: "dialog" },
    content: [
      h("label", {}, t("Summary") + " ", summary),
      h("label", { id: "task-calendar-field" }, t("List") + " ", h("select", { name: "calendar" })),
      h(
        "div",
        { class: "row" },
        h("label", {}, t("Due") + " ", h("select", { name: "due_kind" }, options(DUE_KINDS))),
        h("label", { id: "due-date-field", hidden: true }, t("Day") + " ", dueDate),
        h("label", { id: "due-time-field", hidden: true }, t("Time") + " ", dueTime),
      ),
      h(
        "label",
        {},
        t("Priority") + " ",
        h("select", { name: "priority" }, options(PRIORITIES)),
      ),
      h("label", {}, t("Description") + " ", h("textarea", { name: "description", rows: 3 })),
      h("label", { class: "inline" }, completed, " " + t("Completed")),
      h("p", { id: "task-error", class: "error", role: "alert", hidden: true }),
    ],
    start: [deleteButton("delete-task")],
    end: [
      closeButton(t("Cancel"), { id: "cancel-task" }),
      submitButton(t("Save"), { id: "save-task" }),
    ],
  });
}

const pane = $("tasks-pane");
const paneButton = $("tasks-button");
const listSelect = $("task-calendar");
const showCompleted = $("show-completed");
const list = $("task-list");
const dialog = build();
const form = $("task-form");
const error = $("task-error");
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
  const style = task.all_day
    ? { dateStyle: "medium", timeZone: "UTC" }
    : { dateStyle: "medium", timeStyle: "short", timeZone: zone };
  const when = new Date(task.all_day ? `${task.due}T00:00:00Z` : task.due);
  return dateTime(when, style);
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
    "aria-label": t("Completed: {summary}", { summary: task.summary }),
    onchange: () => complete(task, box.checked),
  });
  const priority = priorityName(task.priority);
  const open = h(
    "button",
    { type: "button", className: "task-open", onclick: () => openTask(task) },
    h("span", { className: "summary" }, task.summary),
    priority ? h("span", { className: `priority ${priority}` }, PRIORITY_NAMES[priority]) : null,
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
    $("no-tasks").hidden = answer.tasks.length > 0;
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
  $("due-date-field").hidden = form.due_kind.value !== "date";
  $("due-time-field").hidden = form.due_kind.value !== "time";
}

function fillPriority(priority) {
  const known = [...form.priority.options].some((o) => Number(o.value) === priority);
  const text = t("priority {number}", { number: priority });
  const option = h("option", { value: String(priority) }, text);
  if (!known) form.priority.append(option);
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
  $("task-dialog-title").textContent = task.writable
    ? t("Edit task")
    : t("Task (read-only)");
  $("task-calendar-field").hidden = true;
  $("delete-task").hidden = !task.writable;
  $("save-task").disabled = !task.writable;
  dialog.showModal();
}

function openNew() {
  const choices = writableCalendars();
  if (!choices.length) {
    toast(t("You have no calendar you may write to."));
    return;
  }
  current = null;
  form.calendar.replaceChildren(...choices.map((c) => h("option", { value: c.path }, c.name)));
  if (choices.some((c) => c.path === listSelect.value)) form.calendar.value = listSelect.value;
  fill({ summary: "", priority: 0 });
  $("task-dialog-title").textContent = t("New task");
  $("task-calendar-field").hidden = false;
  $("delete-task").hidden = true;
  $("save-task").disabled = false;
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
  listSelect.replaceChildren(...found.map((c) => h("option", { value: c.path }, c.name)));
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
  $("delete-task").addEventListener("click", remove);
  $("new-task").addEventListener("click", openNew);
  $("close-tasks").addEventListener("click", () => togglePane(false));
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
