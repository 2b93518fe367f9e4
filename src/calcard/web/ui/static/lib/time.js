// Wall-clock times in a named time zone <-> instants, for the event form, and which zone
// the calendar shows. Its Intl calls read numbers and zones, never write for a reader
// ("en-CA" gives the fixed YYYY-MM-DD order); texts for people come from format.js, in
// the page's language.

function parts(instant, timeZone) {
  const format = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  return Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, p.value]));
}

/** "YYYY-MM-DDTHH:MM" as a clock in `timeZone` shows the instant. */
export function wallTime(instant, timeZone) {
  const p = parts(instant, timeZone);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** The instant at which a clock in `timeZone` shows `wall` ("YYYY-MM-DDTHH:MM"). */
export function instantOf(wall, timeZone) {
  const guess = new Date(`${wall}:00Z`);
  const shown = new Date(`${wallTime(guess, timeZone)}:00Z`);
  return new Date(guess.getTime() - (shown.getTime() - guess.getTime()));
}

export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** The zone the calendar shows and edits times in: the account's (what reminders, mails
 * and invitations use), else the browser's when it is unset or unknown to this browser. */
export function displayZone(accountZone) {
  if (!accountZone) return browserZone();
  try {
    new Intl.DateTimeFormat("en", { timeZone: accountZone });
    return accountZone;
  } catch {
    return browserZone();
  }
}

/** The next whole hour of a clock in `timeZone`, as an instant. */
export function nextHour(timeZone) {
  const wall = wallTime(new Date(Date.now() + 3600e3), timeZone);
  return instantOf(`${wall.slice(0, 13)}:00`, timeZone);
}

export function addDays(day, days) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}
