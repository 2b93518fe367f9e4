// The trash page: what was deleted, when, by whom and from where, when it will be purged,
// and restoring it; a clash (409) offers the ways out the server names.
import { ApiError, api, setCsrf } from "../lib/api.js";
import { brandCurrentOrg } from "../lib/branding.js";
import { $, h, say } from "../lib/dom.js";
import { day, when } from "../lib/format.js";

const KINDS = {
  vevent: "Event",
  vtodo: "Task",
  vjournal: "Journal entry",
  vcard: "Contact",
  vcalendar: "Calendar",
  vaddressbook: "Address book",
};
const list = $("trash-list");
const status = $("trash-status");

async function restore(entry, row, options = {}) {
  say(status, "");
  try {
    const done = await api("POST", `/api/trash/${entry.id}/restore`, options);
    say(status, `Restored “${entry.title || entry.path}” to ${done.restored}.`);
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
      { "aria-label": "Restore into" },
      ...options.into.map((p) => h("option", { value: p }, p)),
    );
    choices.push(
      h("label", {}, "Restore into ", target),
      h(
        "button",
        { type: "button", onclick: () => restore(entry, row, { into: target.value }) },
        "Restore there",
      ),
    );
  }
  if (options.new_uid) {
    choices.push(
      h(
        "button",
        { type: "button", onclick: () => restore(entry, row, { new_uid: true }) },
        "Restore as a copy (new UID)",
      ),
    );
  }
  const cell = h(
    "td",
    { colSpan: 5 },
    h("p", { class: "error" }, `Cannot restore as it was: ${message}.`),
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
      entry.title || h("em", {}, "untitled"),
    ),
    h("td", { "data-label": "From" }, h("code", {}, entry.from)),
    h(
      "td",
      { "data-label": "Deleted" },
      when(entry.deleted_at),
      entry.deleted_by ? ` by ${entry.deleted_by}` : "",
    ),
    h("td", { "data-label": "Purged" }, day(entry.purge_at)),
  );
  row.append(
    h(
      "td",
      {},
      h(
        "button",
        { type: "button", class: "primary", onclick: () => restore(entry, row) },
        "Restore",
      ),
    ),
  );
  return row;
}

async function load() {
  const { trash, retention_days: days } = await api("GET", "/api/trash");
  $("retention").textContent =
    `Deleted things stay here ${days} days (your plan), then they are purged for good.`;
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
