// The trash page: what was deleted, when, by whom and from where, when it will be purged,
// and restoring it; a clash (409) offers the ways out the server names.
import { ApiError, api, setCsrf } from "../lib/api.js";
import { brandCurrentOrg } from "../lib/branding.js";
import { $, h, say } from "../lib/dom.js";
import { day, when } from "../lib/format.js";
import { t } from "../lib/i18n.js";

const KINDS = {
  vevent: t("Event"),
  vtodo: t("Task"),
  vjournal: t("Journal entry"),
  vcard: t("Contact"),
  vcalendar: t("Calendar"),
  vaddressbook: t("Address book"),
};
const list = $("trash-list");
const status = $("trash-status");

async function restore(entry, row, options = {}) {
  say(status, "");
  try {
    const done = await api("POST", `/api/trash/${entry.id}/restore`, options);
    say(
      status,
      t("Restored “{title}” to {place}.", {
        title: entry.title || entry.path,
        place: done.restored,
      }),
    );
    await load();
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 409 && failure.answer?.options) {
      offerOptions(entry, row, failure.message, failure.answer.options);
    } else {
      say(status, failure.message, true);
    }
  }
}

/** A row under the entry: why it cannot go back as it was, and the choices left. */
function offerOptions(entry, row, message, options) {
  if (row.nextElementSibling?.classList.contains("conflict")) row.nextElementSibling.remove();
  const choices = [];
  if (options.into?.length) {
    const target = h(
      "select",
      { "aria-label": t("Restore into") },
      ...options.into.map((p) => h("option", { value: p }, p)),
    );
    choices.push(
      h("label", {}, t("Restore into") + " ", target),
      h(
        "button",
        { type: "button", onclick: () => restore(entry, row, { into: target.value }) },
        t("Restore there"),
      ),
    );
  }
  if (options.new_uid) {
    choices.push(
      h(
        "button",
        { type: "button", onclick: () => restore(entry, row, { new_uid: true }) },
        t("Restore as a copy (new UID)"),
      ),
    );
  }
  const cell = h(
    "td",
    { colSpan: 5 },
    h("p", { class: "error" }, t("Cannot restore as it was: {reason}.", { reason: message })),
    h("div", { class: "row" }, ...choices),
  );
  row.after(h("tr", { class: "conflict" }, cell));
}

function entryRow(entry) {
  const row = h(
    "tr",
    { "data-id": entry.id },
    h(
      "td",
      {},
      h("span", { class: "kind" }, KINDS[entry.kind] || entry.kind),
      " ",
      entry.title || h("em", {}, t("untitled")),
    ),
    h("td", { "data-label": t("From") }, h("code", {}, entry.from)),
    h(
      "td",
      { "data-label": t("Deleted") },
      entry.deleted_by
        ? t("{time} by {name}", { time: when(entry.deleted_at), name: entry.deleted_by })
        : when(entry.deleted_at),
    ),
    h("td", { "data-label": t("Purged") }, day(entry.purge_at)),
  );
  row.append(
    h(
      "td",
      {},
      h(
        "button",
        { type: "button", class: "primary", onclick: () => restore(entry, row) },
        t("Restore"),
      ),
    ),
  );
  return row;
}

async function load() {
  const { trash, retention_days: days } = await api("GET", "/api/trash");
  $("retention").textContent =
t(
    "Deleted things stay here {days} days (your plan), then they are purged for good.",
    { days },
  );
  list.replaceChildren(...trash.map(entryRow));
  $("trash-empty").hidden = trash.length > 0;
}

async function start() {
  setCsrf((await api("GET", "/api/session")).csrf);
  await load();
  document.body.classList.add("ready");
  brandCurrentOrg().catch(() => {});
}

start().catch((failure) => say(status, failure.message, true));
