// The JSON API with the session cookie; every changing call carries the CSRF token.
let csrf = "";
let loginPage = "/web/login";

export class ApiError extends Error {
  constructor(status, message, answer = {}) {
    super(message);
    this.status = status;
    this.answer = answer; // the whole JSON answer (e.g. a 409's options)
  }
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

export async function logout() {
  for (const stream of openStreams) stream.close();
  await api("DELETE", "/api/session").catch(() => {});
  window.location.assign(loginPage);
}

export function csrfToken() {
  return csrf;
}

export async function api(method, path, body) {
  const headers = { "X-CSRF-Token": csrf };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    window.location.assign(loginPage);
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(response.status, answer.error || response.statusText, answer);
  }
  return answer;
}

export function query(params) {
  return new URLSearchParams(params).toString();
}
