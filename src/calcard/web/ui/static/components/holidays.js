// Public holidays, a suggested calendar: shown as an overlay for the chosen country,
// or added to the user's calendars (a read-only DAV calendar phones sync too).
import { language, t } from "../lib/i18n.js";
import { toast } from "./notify.js";
import { api } from "../lib/api.js";
import { $, h } from "../lib/dom.js";

export const HOLIDAYS = "holidays";
const STORED = "calcard.holidays";
const countrySelect = $("holiday-country");
const regionSelect = $("holiday-subdivision");
const shown = $("show-holidays");
const subscribeButton = $("subscribe-holidays");
const hint = $("holidays-hint");
let countries = [];
let subscriptions = [];
let calendar;
let changed = () => {};

function remembered() {
  return JSON.parse(localStorage.getItem(STORED) || "{}");
}

function chosen() {
  return { country: countrySelect.value, subdivision: regionSelect.value };
}

function regionName(code) {
  try {
    return new Intl.DisplayNames([language], { type: "region" }).of(code) || code;
  } catch {
    return code;
  }
}

/** The country of the browser's language (de-CH: CH; en: US), if the server knows it. */
function browserCountry() {
  try {
    const region = new Intl.Locale(navigator.language).maximize().region;
    return countries.some((c) => c.code === region) ? region : "";
  } catch {
    return "";
  }
}

function subscribed() {
  const { country, subdivision } = chosen();
  return subscriptions.find((s) => s.country === country && s.subdivision === subdivision);
}

function overlaySource() {
  return {
    id: HOLIDAYS,
    color: "#dc2626",
    editable: false,
    events: async (range) => {
      const params = new URLSearchParams({
        ...chosen(),
        start: range.startStr.slice(0, 10),
        end: range.endStr.slice(0, 10),
      });
      const answer = await api("GET", `/api/holidays?${params}`);
      return answer.holidays.map((holiday) => ({
        title: holiday.name,
        start: holiday.date,
        allDay: true,
        classNames: ["holiday"],
        extendedProps: { holiday: true },
      }));
    },
  };
}

/** Show or hide the overlay; never next to the same holidays as a subscribed calendar. */
function showOverlay() {
  const existing = calendar.getEventSourceById(HOLIDAYS);
  if (existing) existing.remove();
  const already = subscribed();
  shown.disabled = Boolean(already) || !countrySelect.value;
  subscribeButton.disabled = Boolean(already) || !countrySelect.value;
  subscribeButton.textContent = already ? t("Added ✓") : t("Add to my calendars");
  hint.textContent = already
    ? t("In your calendars as “{name}”; remove it there.", { name: already.name })
    : t("Adds a read-only calendar that phones and desktops sync too.");
  if (shown.checked && !already && countrySelect.value) calendar.addEventSource(overlaySource());
}

function fillRegions(country, region) {
  const found = countries.find((c) => c.code === country);
  regionSelect.replaceChildren(
    h("option", { value: "" }, t("whole country")),
    ...(found ? found.subdivisions : []).map((code) => h("option", { value: code }, code)),
  );
  regionSelect.value = found && found.subdivisions.includes(region) ? region : "";
  regionSelect.disabled = !found || !found.subdivisions.length;
}

function choose() {
  localStorage.setItem(STORED, JSON.stringify({ ...chosen(), shown: shown.checked }));
  showOverlay();
}

async function subscribe() {
  const { country, subdivision } = chosen();
  const name = countrySelect.selectedOptions[0].textContent;
  // Named in the reader's language, as they would name it themselves (phones show it).
  const title =
    t("Holidays in {country}", { country: name }) + (subdivision ? ` (${subdivision})` : "");
  subscribeButton.disabled = true;
  try {
    await api("POST", "/api/holidays/subscriptions", { country, subdivision, name: title });
    changed(); // the calendar list reloads and calls setSubscriptions
  } catch (failure) {
    toast(failure.message);
    subscribeButton.disabled = false;
  }
}

/** The user's calendars changed: learn which holiday calendars they have now. */
export async function refreshSubscriptions() {
  subscriptions = (await api("GET", "/api/holidays/subscriptions")).subscriptions;
  showOverlay();
}

export async function setup(fullCalendar, onChange) {
  calendar = fullCalendar;
  changed = onChange;
  countries = (await api("GET", "/api/holidays/countries")).countries;
  const named = countries
    .map((c) => ({ code: c.code, name: regionName(c.code) || c.name }))
    .sort((a, b) => a.name.localeCompare(b.name, language));
  countrySelect.replaceChildren(...named.map((c) => h("option", { value: c.code }, c.name)));
  const stored = remembered();
  countrySelect.value = stored.country || browserCountry() || named[0].code;
  fillRegions(countrySelect.value, stored.subdivision || "");
  shown.checked = Boolean(stored.shown);
  countrySelect.addEventListener("change", () => {
    fillRegions(countrySelect.value, "");
    choose();
  });
  regionSelect.addEventListener("change", choose);
  shown.addEventListener("change", choose);
  subscribeButton.addEventListener("click", subscribe);
  await refreshSubscriptions();
}
