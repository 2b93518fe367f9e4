// The contacts page: address books, groups, search, the contact form, duplicates and
// merges (with undo), import and export. Everything goes through the JSON API, which
// stores cards like a CardDAV client would, so phones and desktops see each change.
import { closeButton, deleteButton, makeDialog, submitButton } from "../components/dialog.js";
import { listen, toast } from "../components/notify.js";
import { openTransfer } from "../components/transfer-dialog.js";
import { api, logout, query, setCsrf } from "../lib/api.js";
import { brandCurrentOrg } from "../lib/branding.js";
import { $, h, options } from "../lib/dom.js";
import { when } from "../lib/format.js";
import { t } from "../lib/i18n.js";
import { registerServiceWorker } from "../lib/pwa.js";

const EMAIL_KINDS = { work: t("work"), home: t("home"), other: t("other") };
const PHONE_KINDS = { cell: t("mobile"), work: t("work"), home: t("home"), other: t("other") };
const REASON_KINDS = { email: t("e-mail"), phone: t("phone"), name: t("name") };
const SEARCH_DELAY_MS = 250;
const NOTE_MS = 5000;

// --- the dialogs -----------------------------------------------------------------------------

function textField(label, name, props = {}) {
  return h("label", {}, `${label} `, h("input", { name, maxlength: 1000, ...props }));
}

function fieldRow(...fields) {
  return h("div", { class: "row" }, ...fields);
}

function valueList(id, legend, addId, addText) {
  return h(
    "fieldset",
    {},
    h("legend", {}, legend),
    h("ul", { id, class: "value-list" }),
    h("button", { type: "button", id: addId }, addText),
  );
}

function contactDialog() {
  const off = { autocomplete: "off" };
  const birthday = {
    pattern: "\\d{4}-\\d{2}-\\d{2}|--\\d{2}-\\d{2}",
    placeholder: t("YYYY-MM-DD, or --MM-DD without the year"),
    autocomplete: "off",
  };
  return makeDialog({
    id: "contact-dialog",
    title: t("Contact"),
    form: { id: "contact-form", method: "dialog" },
    content: [
      fieldRow(textField(t("First name"), "given", off), textField(t("Last name"), "family", off)),
      textField(t("Display name"), "name", { ...off, placeholder: t("from first and last name") }),
      valueList("email-list", t("E-mail"), "add-email", t("Add e-mail")),
      valueList("phone-list", t("Phone"), "add-phone", t("Add phone")),
      fieldRow(textField(t("Organization"), "org"), textField(t("Job title"), "title")),
      h(
        "fieldset",
        {},
        h("legend", {}, t("Address")),
        textField(t("Street"), "street", off),
        fieldRow(textField(t("Postal code"), "postal", off), textField(t("City"), "city", off)),
        fieldRow(textField(t("Region"), "region", off), textField(t("Country"), "country", off)),
      ),
      h("label", {}, t("Birthday") + " ", h("input", { name: "birthday", ...birthday })),
      h("label", {}, t("Note") + " ", h("textarea", { name: "note", rows: 3, maxlength: 20000 })),
      h(
        "fieldset",
        { id: "group-fields", hidden: true },
        h("legend", {}, t("Groups")),
        h("div", { id: "group-choices", class: "choices" }),
      ),
      h("p", { id: "contact-error", class: "error", role: "alert", hidden: true }),
    ],
    start: [deleteButton("delete-contact")],
    end: [
      closeButton(t("Cancel"), { id: "cancel-contact" }),
      submitButton(t("Save"), { id: "save-contact" }),
    ],
  });
}

function groupDialog() {
  const name = h("input", { name: "name", required: true, maxlength: 1000, autocomplete: "off" });
  return makeDialog({
    id: "group-dialog",
    title: t("New group"),
    form: { id: "group-form", method: "dialog" },
    content: [
      h("label", {}, t("Name") + " ", name),
      h("p", { id: "group-error", class: "error", role: "alert", hidden: true }),
    ],
    end: [
      closeButton(t("Cancel"), { id: "cancel-group" }),
      submitButton(t("Create"), { id: "save-group" }),
    ],
  });
}

function duplicatesDialog() {
  const how = t(
    "Merging keeps every e-mail, phone and note of both cards in the one you keep; the other" +
      " goes to the trash. A merge can be undone.",
  );
  return makeDialog({
    id: "duplicates-dialog",
    titleId: "duplicates-title",
    title: t("Possible duplicates"),
    content: [
      h("p", { class: "hint" }, how),
      h("ul", { id: "duplicate-list", class: "duplicate-list" }),
      h("h3", {}, t("Recent merges")),
      h("ul", { id: "merge-list", class: "duplicate-list" }),
    ],
    end: [closeButton(t("Close"), { id: "close-duplicates" })],
  });
}

// Built once, before anything opens them; the code below finds their parts by id.
contactDialog();
groupDialog();
duplicatesDialog();

let books = [];
let book = null; // the address book shown
let groups = [];
let group = ""; // UID of the group filter, "" for everyone
let editing = null; // the contact open in the form, null for a new one
let searchTimer;
let listed = 0; // answers to list requests, so a slow old one cannot overwrite a newer one

/** A passing confirmation: a toast that goes away by itself. */
function note(text) {
  const box = toast(text);
  setTimeout(() => box.remove(), NOTE_MS);
}

function storedBook() {
  return localStorage.getItem("calcard.addressbook") || "";
}

function initials(name) {
  const words = name.split(/\s+/).filter(Boolean);
  return (words[0]?.[0] || "?") + (words.length > 1 ? words[words.length - 1][0] : "");
}

// --- sidebar ---------------------------------------------------------------------------------

function bookList() {
  $("book-list").replaceChildren(
    ...books.map((info) => {
      const radio = h("input", {
        type: "radio",
        name: "addressbook",
        value: info.path,
        checked: info.path === book.path,
        onchange: () => chooseBook(info),
      });
      const label = h(
        "label",
        { className: "toggle" },
        radio,
        " " + (info.writable ? info.name : t("{name} (read-only)", { name: info.name })),
      );
      return h("li", {}, label);
    }),
  );
}

function groupButton(uid, name, count) {
  const button = h(
    "button",
    {
      type: "button",
      className: "group-filter",
      "data-group": uid,
      "aria-pressed": String(uid === group),
      onclick: () => {
        group = uid;
        groupList();
        refresh();
      },
    },
    name,
    count !== null && h("span", { className: "count" }, String(count)),
  );
  return h("li", {}, button);
}

function groupList() {
  $("group-list").replaceChildren(
    groupButton("", t("All contacts"), null),
    ...groups.map((g) => groupButton(g.uid, g.name, g.members.length)),
  );
  $("new-group").disabled = !book.writable;
}

async function loadGroups() {
  groups = (await api("GET", `/api/contacts/groups?${query({ addressbook: book.path })}`)).groups;
  if (group && !groups.some((g) => g.uid === group)) group = "";
  groupList();
}

async function chooseBook(info) {
  book = info;
  group = "";
  localStorage.setItem("calcard.addressbook", info.path);
  $("new-contact").disabled = !info.writable;
  await loadGroups();
  await refresh();
}

// --- the list --------------------------------------------------------------------------------

function row(contact) {
  const button = h(
    "button",
    {
      type: "button",
      className: "contact-row",
      "data-uid": contact.uid,
      onclick: () => openContact(contact.uid).catch((f) => toast(f.message)),
    },
    h("span", { className: "avatar", "aria-hidden": "true" }, initials(contact.name).toUpperCase()),
    h(
      "span",
      { className: "who-line" },
      h("strong", {}, contact.name),
      h("span", { className: "hint" }, contact.org),
    ),
    h("span", { className: "email" }, contact.email),
    h("span", { className: "phone" }, contact.phone),
  );
  return h("li", {}, button);
}

async function refresh() {
  const mine = ++listed;
  const params = { addressbook: book.path, q: $("contact-search").value.trim(), group };
  const { contacts } = await api("GET", `/api/contacts?${query(params)}`);
  if (mine !== listed) return;
  $("contact-list").replaceChildren(...contacts.map(row));
  const filtered = params.q || group;
  $("contact-count").textContent =
    contacts.length === 0
      ? filtered
        ? t("No contact matches.")
        : t("No contacts yet.")
      : contacts.length === 1
        ? t("1 contact")
        : t("{count} contacts", { count: contacts.length });
}

// --- the form --------------------------------------------------------------------------------

function valueRow(list, kinds, entry = { type: Object.keys(kinds)[0], value: "" }) {
  const select = h("select", { name: "kind", "aria-label": t("Kind") }, options(kinds));
  if (Object.hasOwn(kinds, entry.type)) select.value = entry.type; // else the first kind
  const input = h("input", { name: "value", autocomplete: "off", "aria-label": t("Value") });
  input.value = entry.value;
  input.type = list === "email-list" ? "email" : "tel";
  const remove = h(
    "button",
    {
      type: "button",
      class: "icon-button remove-value",
      "aria-label": t("Remove"),
      onclick: () => item.remove(),
    },
    "✕",
  );
  const item = h("li", { class: "value-row" }, select, input, remove);
  $(list).append(item);
  return input;
}

function values(list) {
  return [...$(list).querySelectorAll("li")]
    .map((item) => ({
      type: item.querySelector("select").value,
      value: item.querySelector("input").value.trim(),
    }))
    .filter((entry) => entry.value);
}

function derivedName(form) {
  return [form.given.value.trim(), form.family.value.trim()].filter(Boolean).join(" ");
}

function fill(contact) {
  const form = $("contact-form");
  for (const name of ["name", "given", "family", "org", "title", "birthday", "note"]) {
    form[name].value = contact?.[name] || "";
  }
  for (const name of ["street", "city", "postal", "region", "country"]) {
    form[name].value = contact?.address?.[name] || "";
  }
  form.dataset.derived = derivedName(form);
  $("email-list").replaceChildren();
  $("phone-list").replaceChildren();
  for (const email of contact?.emails || []) valueRow("email-list", EMAIL_KINDS, email);
  for (const phone of contact?.phones || []) valueRow("phone-list", PHONE_KINDS, phone);
  if (!contact) {
    valueRow("email-list", EMAIL_KINDS);
    valueRow("phone-list", PHONE_KINDS);
  }
  const member = new Set(contact?.groups || []);
  $("group-choices").replaceChildren(
    ...groups.map((g) => {
      const box = h("input", {
        type: "checkbox",
        name: "group",
        value: g.uid,
        checked: member.has(g.uid) || (!contact && g.uid === group),
      });
      return h("label", {}, box, ` ${g.name}`);
    }),
  );
  $("group-fields").hidden = groups.length === 0;
}

function formBody() {
  const form = $("contact-form");
  const text = (name) => form[name].value.trim();
  return {
    addressbook: book.path,
    name: text("name"),
    given: text("given"),
    family: text("family"),
    emails: values("email-list"),
    phones: values("phone-list"),
    org: text("org"),
    title: text("title"),
    address: Object.fromEntries(
      ["street", "city", "postal", "region", "country"].map((n) => [n, text(n)]),
    ),
    birthday: text("birthday"),
    note: form.note.value.trim(),
  };
}

function showForm(contact) {
  editing = contact;
  fill(contact);
  const readOnly = !book.writable;
  $("contact-dialog-title").textContent = contact ? contact.name : t("New contact");
  $("delete-contact").hidden = !contact || readOnly;
  $("save-contact").hidden = readOnly;
  $("contact-error").hidden = true;
  $("contact-dialog").showModal();
  $("contact-form").given.focus();
}

async function openContact(uid) {
  const contact = await api("GET", `/api/contact?${query({ addressbook: book.path, uid })}`);
  showForm(contact);
}

async function changeGroups(uid, before) {
  const chosen = [...document.querySelectorAll("#group-choices input:checked")].map((b) => b.value);
  for (const g of groups) {
    const now = chosen.includes(g.uid);
    if (now === before.has(g.uid)) continue;
    await api("POST", `/api/contacts/groups/${encodeURIComponent(g.uid)}/members`, {
      addressbook: book.path,
      [now ? "add" : "remove"]: [uid],
    });
  }
}

async function save(event) {
  event.preventDefault();
  const body = formBody();
  const saved = editing
    ? await api("PUT", "/api/contact", { ...body, uid: editing.uid, etag: editing.etag })
    : await api("POST", "/api/contact", body);
  await changeGroups(saved.uid, new Set(editing?.groups || []));
  $("contact-dialog").close();
  note(t("{name} saved.", { name: saved.name }));
  await loadGroups();
  await refresh();
}

async function remove() {
  const question = t("Delete {name}? It goes to the trash.", { name: editing.name });
  if (!window.confirm(question)) return;
  await api("DELETE", `/api/contact?${query({ addressbook: book.path, uid: editing.uid })}`);
  $("contact-dialog").close();
  note(t("{name} moved to the trash.", { name: editing.name }));
  await loadGroups();
  await refresh();
}

function formError(failure) {
  $("contact-error").textContent = failure.message;
  $("contact-error").hidden = false;
}

function setupForm() {
  const form = $("contact-form");
  form.addEventListener("submit", (event) => save(event).catch(formError));
  $("delete-contact").addEventListener("click", () => remove().catch(formError));
  $("add-email").addEventListener("click", () => valueRow("email-list", EMAIL_KINDS).focus());
  $("add-phone").addEventListener("click", () => valueRow("phone-list", PHONE_KINDS).focus());
  // The display name follows first and last name until someone types their own.
  for (const name of ["given", "family"]) {
    form[name].addEventListener("input", () => {
      const fresh = derivedName(form);
      if (!form.name.value.trim() || form.name.value === form.dataset.derived) {
        form.name.value = fresh;
      }
      form.dataset.derived = fresh;
    });
  }
}

// --- groups ----------------------------------------------------------------------------------

function setupGroups() {
  const dialog = $("group-dialog");
  const form = $("group-form");
  $("new-group").addEventListener("click", () => {
    form.reset();
    $("group-error").hidden = true;
    dialog.showModal();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const made = await api("POST", "/api/contacts/groups", {
        addressbook: book.path,
        name: form.name.value.trim(),
      });
      dialog.close();
      group = made.uid;
      await loadGroups();
      await refresh();
    } catch (failure) {
      $("group-error").textContent = failure.message;
      $("group-error").hidden = false;
    }
  });
}

// --- duplicates and merges -------------------------------------------------------------------

function line(text, ...buttons) {
  return h("li", {}, h("span", {}, text), ...buttons);
}

function button(text, handler) {
  const onclick = () => handler().catch((failure) => toast(failure.message));
  return h("button", { type: "button", onclick }, text);
}

async function undo(id) {
  await api("POST", `/api/contacts/merges/${id}/undo`);
  note(t("Merge undone."));
  await Promise.all([showDuplicates(false), refresh(), loadGroups()]);
}

async function merge(keep, other, name) {
  const done = await api("POST", "/api/contacts/merge", {
    addressbook: book.path,
    keep,
    merge: [other],
  });
  toast(t("Merged into {name}.", { name }), [[t("Undo"), () => undo(done.merge)]]);
  await Promise.all([showDuplicates(false), refresh(), loadGroups()]);
}

/** A duplicate's reason ("email ana@example.org") with its kind in the reader's words. */
function reasonText(reason) {
  const [kind, ...value] = reason.split(" ");
  return [REASON_KINDS[kind] || kind, ...value].join(" ");
}

async function showDuplicates(open = true) {
  const params = query({ addressbook: book.path });
  const [{ duplicates }, { merges }] = await Promise.all([
    api("GET", `/api/contacts/duplicates?${params}`),
    api("GET", "/api/contacts/merges"),
  ]);
  $("duplicate-list").replaceChildren(
    ...(duplicates.length
      ? duplicates.map((d) => {
          const [a, b] = d.names;
          const why = t("{a} and {b}: same {reasons} ({percent}%)", {
            a,
            b,
            reasons: d.reasons.map(reasonText).join(", "),
            percent: Math.round(d.score * 100),
          });
          if (!book.writable) return line(why);
          return line(
            why,
            button(t("Keep {name}", { name: a }), () => merge(d.uids[0], d.uids[1], a)),
            button(t("Keep {name}", { name: b }), () => merge(d.uids[1], d.uids[0], b)),
          );
        })
      : [line(t("No duplicates found."))]),
  );
  const recent = merges.filter((m) => m.addressbook === book.path && !m.undone_at).slice(0, 5);
  $("merge-list").replaceChildren(
    ...(recent.length
      ? recent.map((m) =>
          line(
            t("{time}: {count} cards into one", {
              time: when(m.created_at),
              count: m.merged.length + 1,
            }),
            button(t("Undo"), () => undo(m.id)),
          ),
        )
      : [line(t("None."))]),
  );
  if (open) $("duplicates-dialog").showModal();
}

// --- start -----------------------------------------------------------------------------------

function menu() {
  const toggle = $("menu-button");
  toggle.addEventListener("click", () => {
    const open = $("sidebar").classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
  });
}

async function start() {
  const me = await api("GET", "/api/session");
  setCsrf(me.csrf);
  brandCurrentOrg().catch(() => {});
  $("who").textContent = me.name || me.login;
  books = (await api("GET", "/api/addressbooks")).addressbooks;
  if (!books.length) {
    $("contact-count").textContent = t("You have no address book.");
    return;
  }
  book = books.find((b) => b.path === storedBook()) || books[0];
  bookList();
  menu();
  setupForm();
  setupGroups();
  $("contact-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => refresh().catch((f) => toast(f.message)), SEARCH_DELAY_MS);
  });
  $("new-contact").addEventListener("click", () => showForm(null));
  $("show-duplicates").addEventListener("click", () =>
    showDuplicates().catch((f) => toast(f.message)),
  );
  $("open-transfer").addEventListener("click", () =>
    openTransfer(book.path, () => Promise.all([loadGroups(), refresh()])).catch((f) =>
      toast(f.message),
    ),
  );
  $("open-transfer").disabled = false;
  $("logout").addEventListener("click", logout);
  $("logout").disabled = false;
  await chooseBook(book);
  await listen();
  registerServiceWorker();
}

start().catch((failure) =>
  toast(t("The contacts could not start: {error}", { error: failure.message })),
);
