// What the calendar page gets from the settings work: the organization's branding,
// the sharing dialog, and which time zone the calendar shows when it is not this device's.
import { api } from "./api.js";
import { brandCurrentOrg } from "./branding.js";
import { toast } from "./notify.js";
import { openShare } from "./share.js";
import { browserZone, displayZone } from "./time.js";

async function zoneHint() {
  const prefs = await api("GET", "/api/me/preferences");
  const hint = document.getElementById("zone-hint");
  const shown = displayZone(prefs.timezone);
  if (!hint || shown === browserZone()) return;
  hint.textContent =
    shown === prefs.timezone
      ? `Times are shown in your account's time zone, ${shown}, like reminders and mails; ` +
        `this device is in ${browserZone()} (change it in Settings).`
      : `Times are shown in this device's time zone, ${shown}: this browser does not know ` +
        `your account's, ${prefs.timezone}.`;
  hint.hidden = false;
}

const share = document.getElementById("share-button");
share.addEventListener("click", () => openShare().catch((failure) => toast(failure.message)));
share.disabled = false; // usable once its handler is in place
brandCurrentOrg().catch(() => {});
zoneHint().catch(() => {});
