// The sharing dialog: share a calendar or address book with a user, a workgroup or an
// organization (read or read-write), revoke; and a calendar's public links with an expiry.
import { t } from "../lib/i18n.js";
import { closeButton, makeDialog } from "./dialog.js";
import { api, pathUrl, setCsrf } from "../lib/api.js";
import { copy, h, say } from "../lib/dom.js";
import { day, when } from "../lib/format.js";

const KINDS = { user: t("User (login)"), group: t("Workgroup"), org: t("Whole organization") };
const SHORT = { user: t("User"), group: t("Workgroup"), org: t("Organization") };
const EXPIRIES = {
  "7d": t("7 days"),
  "30d": t("30 days"),
  "6mo": t("6 months"),
  "1y": t("1 year"),
  unlimited: t("never"),
};
let dialog;
let ui;
let collections = [];

function collectionPath() {
  return ui.collection.value;
}

function base() {
  return `/api/collections${pathUrl(collectionPath())}`;
}

function selected() {
  return collections.find((c) => c.path === collectionPath());
}

async function loadShares() {
  const { shares } = await api("GET", `${base()}/shares`);
  ui.shares.replaceChildren(
    ...shares.map((share) => {
      const access = h(
        "select",
        {
          "aria-label": t("Access of {name}", { name: share.name }),
          onchange: () => changeAccess(share, access) },
        h("option", { value: "read" }, t("can view")),
        h("option", { value: "read-write" }, t("can edit")),
      );
      access.value = share.access;
      return h(
        "li",
        { class: "share-row" },
        h("span", { class: "share-target" }, `${SHORT[share.kind]}: `, h("strong", {}, share.name)),
        access,
        h("button", { type: "button", class: "danger", onclick: () => revoke(share) }, t("Revoke")),
      );
    }),
  );
  ui.noShares.hidden = shares.length > 0;
}

async function changeAccess(share, select) {
  await guarded(() =>
    api("PUT", `${base()}/shares`, { kind: share.kind, name: share.name, access: select.value }),
  );
}

async function revoke(share) {
  await guarded(async () => {
    await api("DELETE", `${base()}/shares/${share.kind}/${encodeURIComponent(share.name)}`);
    await loadShares();
  });
}

async function addShare(event) {
  event.preventDefault();
  const body = { kind: ui.kind.value, name: ui.name.value.trim(), access: ui.access.value };
  await guarded(async () => {
    await api("PUT", `${base()}/shares`, body);
    ui.name.value = "";
    say(ui.status, t("Shared with {name}.", { name: body.name }));
    await loadShares();
  });
}

async function loadLinks() {
  const isCalendar = selected()?.kind === "calendar";
  ui.linkSection.hidden = !isCalendar;
  ui.newLink.hidden = true;
  if (!isCalendar) return;
  const { public_links: links } = await api("GET", `${base()}/public-links`);
  ui.links.replaceChildren(
    ...links.map((link) =>
      h(
        "li",
        { class: "share-row" },
        h(
          "span",
          {},
          link.expires_at
            ? t("Link created {created}, expires {expires}", {
                created: when(link.created_at),
                expires: day(link.expires_at),
              })
            : t("Link created {created}, never expires", { created: when(link.created_at) }),
        ),
        h(
          "button",
          { type: "button", class: "danger", onclick: () => revokeLink(link) },
          t("Revoke"),
        ),
      ),
    ),
  );
  ui.noLinks.hidden = links.length > 0;
}

async function createLink() {
  await guarded(async () => {
    const link = await api("POST", `${base()}/public-links`, { expires: ui.expiry.value });
    await loadLinks();
    ui.linkUrl.value = link.url;
    ui.newLink.hidden = false;
    ui.linkUrl.select();
  });
}

async function revokeLink(link) {
  await guarded(async () => {
    await api("DELETE", `${base()}/public-links/${link.id}`);
    await loadLinks();
  });
}

async function guarded(work) {
  say(ui.status, "");
  try {
    await work();
  } catch (failure) {
    say(ui.status, failure.message, true);
  }
}

async function suggestNames() {
  // Members and workgroups of the current organization, for the name field's suggestions
  // (externals see no directory of it).
  const me = await api("GET", "/api/me");
  const membership = me.organizations.find((o) => o.org === me.current_org);
  const org = encodeURIComponent(me.current_org);
  const directory = membership && membership.role !== "external";
  const [members, groups] = await Promise.all([
    directory ? api("GET", `/api/orgs/${org}/members`) : { members: [] },
    directory ? api("GET", `/api/orgs/${org}/workgroups`) : { workgroups: [] },
  ]);
  const names = {
    user: members.members.filter((m) => m.login !== me.login).map((m) => m.login),
    group: groups.workgroups.map((g) => g.name),
    org: me.organizations.map((o) => o.org),
  };
  const fill = () =>
    ui.suggestions.replaceChildren(
      ...(names[ui.kind.value] || []).map((n) => h("option", { value: n })),
    );
  ui.kind.addEventListener("change", fill);
  fill();
}

function build() {
  ui = {
    collection: h("select", { id: "share-collection", onchange: () => refresh() }),
    shares: h("ul", { id: "share-list", class: "share-list" }),
    noShares: h("p", { class: "hint" }, t("Not shared with anyone.")),
    kind: h(
      "select",
      { id: "share-kind", "aria-label": t("Share with") },
      ...Object.entries(KINDS).map(([value, text]) => h("option", { value }, text)),
    ),
    name: h("input", {
      id: "share-name",
      list: "share-suggestions",
      required: true,
      autocomplete: "off",
      "aria-label": t("Name"),
      placeholder: t("login, workgroup or organization"),
    }),
    suggestions: h("datalist", { id: "share-suggestions" }),
    access: h(
      "select",
      { id: "share-access", "aria-label": t("Access") },
      h("option", { value: "read" }, t("can view")),
      h("option", { value: "read-write" }, t("can edit")),
    ),
    linkSection: h("section", { class: "share-links" }),
    links: h("ul", { id: "link-list", class: "share-list" }),
    noLinks: h("p", { class: "hint" }, t("No public link.")),
    expiry: h(
      "select",
      { id: "link-expiry", "aria-label": t("Expires after") },
      ...Object.entries(EXPIRIES).map(([value, text]) => h("option", { value }, text)),
    ),
    newLink: h("div", { class: "secret", hidden: true }),
    linkUrl: h("input", { id: "link-url", readOnly: true, "aria-label": t("Public link") }),
    status: h("p", { id: "share-status", role: "status", hidden: true }),
  };
  ui.expiry.value = "30d";
  const copyButton = h(
    "button",
    {
      type: "button",
      onclick: async () =>
        say(
          ui.status,
          (await copy(ui.linkUrl.value, ui.linkUrl))
            ? t("Link copied.")
            : t("Press Ctrl+C to copy the selected link."),
        ),
    },
    t("Copy"),
  );
  ui.newLink.append(
    h("p", {}, t("Anyone with this link can read the calendar. It is shown only now:")),
    h("div", { class: "row" }, ui.linkUrl, copyButton),
  );
  ui.linkSection.append(
    h("h3", {}, t("Public link (read-only .ics)")),
    ui.links,
    ui.noLinks,
    h(
      "div",
      { class: "row" },
      h("label", {}, t("Expires after") + " ", ui.expiry),
      h("button", { type: "button", id: "create-link", onclick: createLink }, t("Create link")),
    ),
    ui.newLink,
  );
  const form = h(
    "form",
    { id: "share-form", class: "row", onsubmit: addShare },
    ui.kind,
    ui.name,
    ui.suggestions,
    ui.access,
    h("button", { type: "submit", class: "primary" }, t("Share")),
  );
  dialog = makeDialog({
    id: "share-dialog",
    titleId: "share-title",
    className: "share-dialog",
    title: t("Share"),
    content: [
      h("label", { class: "stacked" }, t("Calendar or address book") + " ", ui.collection),
      h("h3", {}, t("People and groups")),
      ui.shares,
      ui.noShares,
      form,
      ui.linkSection,
      ui.status,
    ],
    end: [closeButton(t("Close"))],
  });
}

async function refresh() {
  say(ui.status, "");
  await guarded(() => Promise.all([loadShares(), loadLinks()]));
}

/** Open the dialog, on the collection at `path` if given. */
export async function openShare(path) {
  if (!dialog) {
    build();
    suggestNames().catch(() => {});
  }
  const session = await api("GET", "/api/session");
  setCsrf(session.csrf);
  collections = (await api("GET", "/api/collections")).collections;
  const label = (c) =>
    c.kind === "calendar"
      ? t("{name} (calendar)", { name: c.name })
      : t("{name} (address book)", { name: c.name });
  ui.collection.replaceChildren(
    ...collections.map((c) => h("option", { value: c.path }, label(c))),
  );
  if (path) ui.collection.value = path;
  await refresh();
  dialog.showModal();
}
