// The calendar dialog: create, rename, recolor and delete the user's own calendars.
// The color is the DAV property phones read (ICAL:calendar-color).
import { t } from "../lib/i18n.js";
import { closeButton, deleteButton, makeDialog, submitButton } from "./dialog.js";
import { api, pathUrl } from "../lib/api.js";
import { $, h } from "../lib/dom.js";

const PALETTE = ["#2563eb", "#059669", "#d97706", "#dc2626", "#7c3aed", "#db2777", "#0d9488", "#475569"];

function build() {
  const name = h("input", { name: "name", required: true, maxlength: 200, autocomplete: "off" });
  return makeDialog({
    id: "calendar-dialog",
    title: t("Calendar"),
    form: { id: "calendar-form", method: "dialog" },
    content: [
      h("label", {}, t("Name") + " ", name),
      h(
        "label",
        {},
        t("Color") + " ",
        h("input", { name: "color", type: "color", value: PALETTE[0] }),
      ),
      h("div", {
        id: "calendar-palette",
        class: "palette",
        role: "group",
        "aria-label": t("Suggested colors"),
      }),
      h("p", { id: "calendar-note", class: "hint", hidden: true }),
      h("p", { id: "calendar-error", class: "error", role: "alert", hidden: true }),
    ],
    start: [deleteButton("delete-calendar")],
    end: [
      closeButton(t("Cancel"), { id: "cancel-calendar" }),
      submitButton(t("Save"), { id: "save-calendar" }),
    ],
  });
}

const dialog = build();
const form = $("calendar-form");
const error = $("calendar-error");
const note = $("calendar-note");
const remove = $("delete-calendar");
let editing = null; // the calendar being edited, null for a new one
let changed = () => {};

function showError(message) {
  error.textContent = message;
  error.hidden = !message;
}

function markChosen() {
  for (const button of document.querySelectorAll("#calendar-palette button")) {
    button.setAttribute("aria-pressed", String(button.dataset.color === form.color.value));
  }
}

function open(info) {
  editing = info;
  form.name.value = info ? info.name : "";
  // <input type=color> takes #rrggbb: Apple's #RRGGBBAA loses its alpha only if saved.
  form.color.value = (info ? info.color : PALETTE[0]).slice(0, 7).toLowerCase();
  $("calendar-dialog-title").textContent = info
    ? t("Calendar “{name}”", { name: info.name })
    : t("New calendar");
  const subscription = info && !info.writable;
  remove.hidden = !info;
  remove.textContent = subscription ? t("Remove from my calendars") : t("Delete");
  note.hidden = !subscription;
  note.textContent = t("This calendar is kept up to date by the server and is read-only.");
  markChosen();
  showError("");
  dialog.showModal();
  form.name.focus();
}

/** A button that opens the dialog for one of the user's own calendars. */
export function editButton(info) {
  return h(
    "button",
    {
      type: "button",
      className: "icon-button edit-calendar",
      title: t("Edit {name}", { name: info.name }),
      "aria-label": t("Edit calendar {name}", { name: info.name }),
      onclick: () => open(info),
    },
    "✎",
  );
}

async function save(event) {
  event.preventDefault();
  const body = { name: form.name.value, color: form.color.value };
  try {
    if (editing) {
      await api("PUT", `/api/calendars${pathUrl(editing.path)}`, body);
    } else {
      await api("POST", "/api/calendars", body);
    }
    dialog.close();
    changed();
  } catch (failure) {
    showError(failure.message);
  }
}

async function deleteCalendar() {
  const what = editing.writable
    ? t("Delete “{name}” and everything in it? It stays in the trash for a while.", {
        name: editing.name,
      })
    : t("Remove “{name}” from your calendars?", { name: editing.name });
  if (!window.confirm(what)) return;
  try {
    await api("DELETE", `/api/calendars${pathUrl(editing.path)}`);
    dialog.close();
    changed();
  } catch (failure) {
    showError(failure.message);
  }
}

function palette() {
  $("calendar-palette").replaceChildren(
    ...PALETTE.map((color) => {
      const onclick = () => {
        form.color.value = color;
        markChosen();
      };
      const attributes = { type: "button", className: "swatch-button", "data-color": color };
      const label = t("Color {color}", { color });
      const button = h("button", { ...attributes, "aria-label": label, onclick });
      button.style.background = color;
      return button;
    }),
  );
}

/** `onChange` runs after a calendar was created, changed or deleted. */
export function setup(onChange) {
  changed = onChange;
  palette();
  form.color.addEventListener("input", markChosen);
  form.addEventListener("submit", save);
  remove.addEventListener("click", deleteCalendar);
  const create = $("new-calendar");
  create.addEventListener("click", () => open(null));
  create.disabled = false;
}
