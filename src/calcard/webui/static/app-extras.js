// What the calendar page gets from the settings work: the organization's branding,
// the sharing dialog, and a hint when the account's time zone is not this browser's.
import { api } from "./api.js";
import { brandCurrentOrg } from "./branding.js";
import { toast } from "./notify.js";
import { openShare } from "./share.js";
import { browserZone } from "./time.js";

async function zoneHint() {
  const prefs = await api("GET", "/api/me/preferences");
  const hint = document.getElementById("zone-hint");
  if (!hint || prefs.timezone === browserZone()) return;
  hint.textContent =
    `Times are shown in ${browserZone()}. Reminders and mails use your account's ` +
    `time zone, ${prefs.timezone} (see Settings).`;
  hint.hidden = false;
}

const share = document.getElementById("share-button");
share.addEventListener("click", () => openShare().catch((failure) => toast(failure.message)));
share.disabled = false; // usable once its handler is in place
brandCurrentOrg().catch(() => {});
zoneHint().catch(() => {});
