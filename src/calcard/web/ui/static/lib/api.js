// The JSON API with the session cookie; every changing call carries the CSRF token.
import { t } from "./i18n.js";

let csrf = "";
let loginPage = "/web/login";

export class ApiError extends Error {
  constructor(status, message, answer = {}) {
    super(message);
    this.status = status;
    this.answer = answer; // the whole JSON answer (e.g. a 409's options)
  }
}

/** A collection path as URL text: each name percent-encoded as UTF-8 (RFC 3986 §2.1), so a
 * "?", "#" or "%" in a calendar's name stays part of it. */
export function pathUrl(path) {
  return path.split("/").map(encodeURIComponent).join("/");
}

export function setCsrf(token) {
  csrf = token;
}

/** A signed-out person returns to their organization's login page, with its branding. */
export function setOrganization(org) {
  loginPage = `/web/login?org=${encodeURIComponent(org)}`;
}

const openStreams = [];

/** A stream to close when the person logs out: left open, it would reconnect without
 * a session and fail with 401 before the login page loads. */
export function closeOnLogout(stream) {
  openStreams.push(stream);
}

const inFlight = new Set();
const SETTLE_MS = 3000;
let leaving = false;

/** Ends the session once the calls already under way have their answer, and sends no
 * new ones (each would fail with 401 after it), then goes to the login page. */
export async function logout() {
  leaving = true;
  const settled = Promise.allSettled([...inFlight]);
  await Promise.race([settled, new Promise((done) => setTimeout(done, SETTLE_MS))]);
  for (const stream of openStreams) stream.close();
  await send("DELETE", "/api/session").catch(() => {});
  window.location.assign(loginPage);
}

export function csrfToken() {
  return csrf;
}

export async function api(method, path, body) {
  if (leaving) return new Promise(() => {}); // the page is about to go: nothing new goes out
  return send(method, path, body);
}

async function send(method, path, body) {
  const headers = { "X-CSRF-Token": csrf };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const call = reach(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  inFlight.add(call);
  const response = await call.finally(() => inFlight.delete(call));
  if (response.status === 401) {
    window.location.assign(loginPage);
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw failedAnswer(response.status, answer);
  return answer;
}

/** fetch; no answer at all (offline, server down) is an ApiError in the reader's language:
 * the browser's TypeError says it in the browser's language, if at all. */
export function reach(path, init) {
  return fetch(path, init).catch(() => {
    throw new ApiError(0, t("The server cannot be reached. Check the connection and try again."));
  });
}

/** The ApiError of a failed answer: calcard's JSON error, said in the reader's language.
 * An answer without our JSON (a proxy's error page, a crash): the browser's statusText is
 * English, if there is one at all (none over HTTP/2); the page says it in the reader's. */
export function failedAnswer(status, answer = {}) {
  const fallback = t("The server could not answer ({status}); try again.", { status });
  return new ApiError(status, answer.error || fallback, answer);
}

export function query(params) {
  return new URLSearchParams(params).toString();
}
