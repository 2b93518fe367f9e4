// Dates and times as the browser shows them, for lists (trash, sharing, settings).

/** A date-time as the browser shows it, or a dash. */
export function when(iso) {
  return iso ? new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "—";
}

/** A day as the browser shows it. */
export function day(iso) {
  return iso ? new Date(iso).toLocaleDateString([], { dateStyle: "medium" }) : "—";
}
