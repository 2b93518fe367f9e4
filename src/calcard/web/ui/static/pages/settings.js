// The settings page: invitations to organizations, preferences and reminder channels (a
// new e-mail address waits for verification), the password, app passwords, two-factor
// authentication, device setup (Apple profile, QR code), push subscriptions and, for the
// organization's managers, its logo and colors.
import { api, failedAnswer, reach, setCsrf } from "../lib/api.js";
import { applyBranding } from "../lib/branding.js";
import { $, copy, h, say, sentence } from "../lib/dom.js";
import { when } from "../lib/format.js";
import { t } from "../lib/i18n.js";
import { browserZone } from "../lib/time.js";

const MANAGERS = ["legal-representative", "administrator"];
const ROLES = {
  "legal-representative": t("legal representative"),
  administrator: t("administrator"),
  collaborator: t("collaborator"),
  external: t("external"),
};
let csrf = "";
let shownLanguage = ""; // the language setting the page was loaded with
let me;
let savedEmail = "";

/** Run a change, reporting success or the server's refusal in `status`. */
async function attempt(status, work, done) {
  say(status, "");
  try {
    await work();
    if (done) say(status, done);
  } catch (failure) {
    say(status, failure.message, true);
  }
}

// --- preferences -------------------------------------------------------------------------

async function loadPreferences() {
  const form = $("preferences-form");
  const [prefs, { calendars }] = await Promise.all([
    api("GET", "/api/me/preferences"),
    api("GET", "/api/calendars"),
  ]);
  const zones = Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : [];
  $("zone-list").replaceChildren(...zones.map((z) => h("option", { value: z })));
  $("zone-note").replaceChildren(
    ...sentence(
      t(
        "The time zone is used for reminders, mails and invitations; the calendar shows" +
          " times in your device's zone ({zone}).",
      ),
      { zone: h("span", { id: "browser-zone" }, browserZone()) },
    ),
  );
  form.default_calendar.replaceChildren(
    h("option", { value: "" }, t("the first one")),
    ...calendars.filter((c) => c.writable).map((c) => h("option", { value: c.path }, c.name)),
  );
  form.timezone.value = prefs.timezone;
  form.week_start.value = prefs.week_start_chosen ? String(prefs.week_start) : "";
  form.language.value = prefs.language;
  shownLanguage = prefs.language;
  form.default_calendar.value = prefs.default_calendar;
  showEmail(prefs);
  form.chat_webhook.value = prefs.chat_webhook;
}

/** The verified address in the field; a pending one (not in use yet) named below it. */
function showEmail(prefs) {
  savedEmail = prefs.email;
  $("preferences-form").email.value = prefs.email;
  $("email-pending").hidden = !prefs.email_pending;
  $("email-pending").replaceChildren(
    ...sentence(
      t(
        "Waiting for verification: {address}. Open the link mailed to that address; until" +
          " then, the address above stays in use.",
      ),
      { address: h("strong", { id: "email-pending-address" }, prefs.email_pending) },
    ),
  );
}

function savePreferences(event) {
  event.preventDefault();
  const form = event.target;
  const body = {
    timezone: form.timezone.value.trim(),
    week_start: form.week_start.value === "" ? null : Number(form.week_start.value),
    language: form.language.value,
    default_calendar: form.default_calendar.value,
    chat_webhook: form.chat_webhook.value.trim(),
  };
  const email = form.email.value.trim();
  if (email !== savedEmail) body.email = email; // unchanged: keep a pending request as is
  attempt(
    $("preferences-status"),
    async () => {
      const saved = await api("PATCH", "/api/me/preferences", body);
      if (saved.language !== shownLanguage) {
        window.location.reload(); // the server serves the pages in the new language
        return;
      }
      showEmail(saved);
      if (saved.email_pending && "email" in body) {
        say(
          $("preferences-status"),
          t("Saved. Open the link mailed to {address}.", { address: saved.email_pending }),
        );
      } else say($("preferences-status"), t("Saved."));
    },
  );
}

// --- invitations to organizations --------------------------------------------------------

async function loadInvitations() {
  const { invitations } = await api("GET", "/api/me/invitations");
  $("invitations").hidden = invitations.length === 0;
  $("invitation-list").replaceChildren(
    ...invitations.map((i) =>
      h(
        "li",
        {},
        ...sentence(
          i.invited_by
            ? t("{org} invites you as {role} (asked by {name}, {time}).", {
                role: ROLES[i.role] || i.role,
                name: i.invited_by,
                time: when(i.created_at),
              })
            : t("{org} invites you as {role}.", { role: ROLES[i.role] || i.role }),
          { org: h("strong", {}, i.org) },
        ),
        " ",
        h(
          "button",
          { type: "button", class: "primary", onclick: () => answerInvitation(i, "accept") },
          t("Accept"),
        ),
        " ",
        h(
          "button",
          { type: "button", onclick: () => answerInvitation(i, "decline") },
          t("Decline"),
        ),
      ),
    ),
  );
}

function answerInvitation(invitation, answer) {
  attempt(
    $("invitations-status"),
    async () => {
      await api("POST", `/api/me/invitations/${invitation.id}/${answer}`, {});
      await loadInvitations();
      me = await api("GET", "/api/me");
    },
    answer === "accept"
      ? t("You are now a member of {org}.", { org: invitation.org })
      : t("You declined the invitation of {org}.", { org: invitation.org }),
  );
}

// --- password ----------------------------------------------------------------------------

function changePassword(event) {
  event.preventDefault();
  const form = event.target;
  const status = $("password-status");
  if (form.elements.new.value !== form.elements.again.value) {
    say(status, t("The two new passwords differ."), true);
    return;
  }
  const body = { current: form.elements.current.value, new: form.elements.new.value };
  attempt(
    status,
    async () => {
      await api("POST", "/api/me/password", body);
      form.reset();
    },
    t("Password changed. Your other browser sessions are logged out."),
  );
}

// --- push subscriptions ------------------------------------------------------------------

async function loadPush() {
  const { subscriptions: list } = await api("GET", "/api/push/subscriptions");
  $("push-list").replaceChildren(
    ...list.map((p) =>
      h(
        "tr",
        {},
        h("td", {}, p.kind === "browser" ? p.label : t("Phone or desktop (WebDAV-Push)")),
        h("td", {}, p.path || t("Reminders and invitations")),
        h("td", {}, p.service),
        h("td", {}, when(p.expires_at)),
        h(
          "td",
          {},
          h(
            "button",
            { type: "button", class: "danger", onclick: () => removePush(p) },
            t("Remove"),
          ),
        ),
      ),
    ),
  );
  $("no-push").hidden = list.length > 0;
}

function removePush(p) {
  attempt(
    $("push-status"),
    async () => {
      await api("DELETE", `/api/push/registrations/${encodeURIComponent(p.token)}`);
      await loadPush();
    },
    t("Removed: it gets no more push messages."),
  );
}

// --- app passwords -----------------------------------------------------------------------

async function loadAppPasswords() {
  const { app_passwords: list } = await api("GET", "/api/me/app-passwords");
  $("app-password-list").replaceChildren(
    ...list.map((p) =>
      h(
        "tr",
        {},
        h("td", {}, p.label),
        h("td", {}, when(p.created_at)),
        h("td", {}, p.last_used_at ? when(p.last_used_at) : t("never")),
        h(
          "td",
          {},
          h(
            "button",
            {
              type: "button",
              class: "danger",
              "aria-label": t("Revoke {label}", { label: p.label }),
              onclick: () => revokeAppPassword(p),
            },
            t("Revoke"),
          ),
        ),
      ),
    ),
  );
  $("no-app-passwords").hidden = list.length > 0;
}

function createAppPassword(event) {
  event.preventDefault();
  const form = event.target;
  attempt($("app-password-status"), async () => {
    const created = await api("POST", "/api/me/app-passwords", { label: form.label.value });
    $("new-app-password-text").replaceChildren(
      ...sentence(t("The new app password for {label}. It is shown only now:"), {
        label: h("strong", { id: "new-app-password-label" }, created.label),
      }),
    );
    $("new-app-password-value").value = created.password;
    $("new-app-password").hidden = false;
    $("new-app-password-value").select();
    form.reset();
    await loadAppPasswords();
  });
}

function revokeAppPassword(p) {
  attempt(
    $("app-password-status"),
    async () => {
      await api("DELETE", `/api/me/app-passwords/${p.id}`);
      $("new-app-password").hidden = true;
      await loadAppPasswords();
    },
    t("Revoked “{label}”: it stopped working everywhere.", { label: p.label }),
  );
}

// --- two-factor --------------------------------------------------------------------------

function showTwoFactor(on) {
  $("two-factor-state").textContent = on
    ? t("Two-factor authentication is on.")
    : t("Two-factor authentication is off.");
  $("two-factor-off").hidden = on;
  $("two-factor-disable").hidden = !on;
  $("two-factor-enroll").hidden = true;
  $("two-factor-begin").hidden = false;
}

function beginTwoFactor() {
  attempt($("two-factor-status"), async () => {
    const enrollment = await api("POST", "/api/me/2fa", {});
    $("two-factor-qr").src = enrollment.qr;
    $("two-factor-secret").textContent = enrollment.secret;
    $("two-factor-enroll").hidden = false;
    $("two-factor-begin").hidden = true;
    $("two-factor-confirm").code.focus();
  });
}

function confirmTwoFactor(event) {
  event.preventDefault();
  const code = event.target.code.value.trim();
  attempt(
    $("two-factor-status"),
    async () => {
      await api("POST", "/api/me/2fa/confirm", { code });
      event.target.reset();
      showTwoFactor(true);
    },
    t(
      "Two-factor authentication is now on. Phones and desktops need app passwords from now" +
        " on; your other browser sessions are logged out.",
    ),
  );
}

function disableTwoFactor(event) {
  event.preventDefault();
  const code = event.target.code.value.trim();
  attempt(
    $("two-factor-status"),
    async () => {
      await api("POST", "/api/me/2fa/disable", { code });
      event.target.reset();
      showTwoFactor(false);
    },
    t("Two-factor authentication is off."),
  );
}

// --- devices -----------------------------------------------------------------------------

async function loadDevices() {
  const setup = await api("GET", "/api/me/devices");
  $("dav-url").textContent = setup.dav_url;
  $("account-url").textContent = setup.account_url;
  $("dav-login").textContent = setup.login;
  $("account-qr").src = setup.qr;
}

/** POST, then hand the answer to the browser as a download. */
async function download(path, fallbackName) {
  const response = await reach(path, {
    method: "POST",
    headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
    body: "{}",
  });
  if (!response.ok) {
    throw failedAnswer(response.status, await response.json().catch(() => ({})));
  }
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: name ? name[1] : fallbackName, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function appleProfile() {
  attempt(
    $("apple-status"),
    async () => {
      await download("/api/me/apple-profile", "calcard.mobileconfig");
      await loadAppPasswords();
    },
    t("Profile downloaded. Its app password is listed above."),
  );
}

// --- organization branding ---------------------------------------------------------------

function orgPath(suffix) {
  return `/api/orgs/${encodeURIComponent(me.current_org)}/${suffix}`;
}

async function loadOrganization() {
  const membership = me.organizations.find((o) => o.org === me.current_org);
  if (!membership || !MANAGERS.includes(membership.role)) return;
  $("organization").hidden = false;
  $("organization-link").hidden = false;
  $("organization-title").replaceChildren(
    ...sentence(t("Organization: {name}"), {
      name: h("span", { id: "org-title-name" }, me.current_org),
    }),
  );
  const link = `/web/login?org=${encodeURIComponent(me.current_org)}`;
  const anchor = h("a", { id: "org-login-link", href: link }, `${window.location.origin}${link}`);
  $("org-brand-hint").replaceChildren(
    ...sentence(
      t(
        "The logo and colors show on the organization's login page, {link}, and in the" +
          " calendar of its members.",
      ),
      { link: anchor },
    ),
  );
  const brand = await applyBranding(me.current_org);
  showBrand(brand);
}

function showBrand(brand) {
  const form = $("colors-form");
  form.accent.value = brand?.accent || "#2563eb";
  form.background.value = brand?.background || "#f8fafc";
  const preview = $("org-logo-preview");
  preview.hidden = !brand?.logo;
  if (brand?.logo) preview.src = brand.logo;
  $("remove-logo").hidden = !brand?.logo;
}

function saveColors(body) {
  attempt(
    $("organization-status"),
    async () => {
      showBrand(await api("PUT", orgPath("branding"), body));
      await applyBranding(me.current_org);
    },
    t("Colors saved."),
  );
}

async function uploadLogo(file) {
  const response = await reach(orgPath("logo"), {
    method: "PUT",
    headers: { "X-CSRF-Token": csrf, "Content-Type": file.type || "application/octet-stream" },
    body: file,
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw failedAnswer(response.status, answer);
  showBrand(answer);
  await applyBranding(me.current_org);
}

function chooseLogo(event) {
  const file = event.target.files[0];
  if (!file) return;
  attempt($("organization-status"), () => uploadLogo(file), t("Logo saved.")).finally(() => {
    event.target.value = "";
  });
}

function removeLogo() {
  attempt(
    $("organization-status"),
    async () => {
      showBrand(await api("DELETE", orgPath("logo")));
      $("org-logo").hidden = true;
    },
    t("Logo removed."),
  );
}

// --- start -------------------------------------------------------------------------------

function wire() {
  $("preferences-form").addEventListener("submit", savePreferences);
  $("use-browser-zone").addEventListener("click", () => {
    $("preferences-form").timezone.value = browserZone();
  });
  $("password-form").addEventListener("submit", changePassword);
  $("app-password-form").addEventListener("submit", createAppPassword);
  $("copy-app-password").addEventListener("click", async () => {
    const field = $("new-app-password-value");
    const copied = await copy(field.value, field);
    say(
      $("app-password-status"),
      copied ? t("Copied.") : t("Press Ctrl+C to copy the selected password."),
    );
  });
  $("two-factor-begin").addEventListener("click", beginTwoFactor);
  $("two-factor-confirm").addEventListener("submit", confirmTwoFactor);
  $("two-factor-disable").addEventListener("submit", disableTwoFactor);
  $("apple-profile").addEventListener("click", appleProfile);
  $("colors-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveColors({ accent: event.target.accent.value, background: event.target.background.value });
  });
  $("reset-colors").addEventListener("click", () => saveColors({ accent: "", background: "" }));
  $("logo-file").addEventListener("change", chooseLogo);
  $("remove-logo").addEventListener("click", removeLogo);
}

async function start() {
  const session = await api("GET", "/api/session");
  csrf = session.csrf;
  setCsrf(csrf);
  me = await api("GET", "/api/me");
  wire();
  showTwoFactor(me.two_factor);
  await Promise.all([
    loadInvitations(),
    loadPreferences(),
    loadAppPasswords(),
    loadPush(),
    loadDevices(),
    loadOrganization(),
  ]);
  if (me.current_org && $("organization").hidden) await applyBranding(me.current_org);
  document.body.classList.add("ready");
  $(window.location.hash.slice(1))?.scrollIntoView();
}

start().catch((failure) => {
  document.querySelector(".page-main").prepend(h("p", { class: "error" }, failure.message));
});
