// Dates, times and numbers in the page's language (<html lang>, the reader's language,
// i18n.js), not the browser's: a German reader on an English browser reads "3. Dez. 2026".

import { language } from "./i18n.js";

/** A date-time in the reader's language, or a dash. */
export function when(iso) {
  return iso ? dateTime(new Date(iso), { dateStyle: "medium", timeStyle: "short" }) : "—";
}

/** A day in the reader's language, or a dash. */
export function day(iso) {
  return iso ? dateTime(new Date(iso), { dateStyle: "medium" }) : "—";
}

/** An instant as `Intl.DateTimeFormat` writes it with `options`, in the reader's language. */
export function dateTime(instant, options) {
  return new Intl.DateTimeFormat(language, options).format(instant);
}

/** A count with the reader's digit grouping (1’234, 1 234, 1.234). */
export function number(value) {
  return new Intl.NumberFormat(language).format(value);
}
