// An organization's logo and colors: on its login page (?org=NAME) and in the app
// (the current organization). Colors come validated (#rrggbb) from the server.
import { api, setOrganization } from "./api.js";
import { $ } from "./dom.js";

/** Black or white, whichever reads better on the color. */
function readableOn(color) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16) / 255);
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return lum > 0.55 ? "#18181b" : "#ffffff";
}

function setColors(brand) {
  const root = document.documentElement.style;
  if (brand.accent) {
    root.setProperty("--accent", brand.accent);
    root.setProperty("--accent-fg", readableOn(brand.accent));
    document.querySelector('meta[name="theme-color"]')?.setAttribute("content", brand.accent);
  }
  if (brand.background) {
    root.setProperty("--brand-bg", brand.background);
    root.setProperty("--brand-fg", readableOn(brand.background));
  }
}

/** Fetch and show an organization's branding; resolves to it, or null when it has none
 * (an unknown organization looks the same). */
export async function applyBranding(org) {
  const response = await fetch(`/api/orgs/${encodeURIComponent(org)}/branding`);
  if (!response.ok) return null;
  const brand = await response.json();
  if (!brand.accent && !brand.background && !brand.logo) return null;
  document.body.classList.add("branded");
  setColors(brand);
  const logo = $("org-logo");
  if (logo && brand.logo) {
    logo.src = brand.logo;
    logo.alt = brand.org;
    logo.hidden = false;
  }
  const name = $("org-name");
  if (name) name.textContent = brand.org;
  return brand;
}

/** The branding of the caller's current organization (the app and the settings page). */
export async function brandCurrentOrg() {
  const me = await api("GET", "/api/me");
  const brand = me.current_org ? await applyBranding(me.current_org) : null;
  if (brand) setOrganization(me.current_org);
  return brand;
}
