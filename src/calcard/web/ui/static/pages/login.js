// The login form: POST /api/session as JSON, a second step for the two-factor code
// when the server asks for one, then open the calendar. ?org=NAME shows its branding.
import { reach } from "../lib/api.js";
import { applyBranding } from "../lib/branding.js";
import { $ } from "../lib/dom.js";
import { t } from "../lib/i18n.js";

const form = $("login-form");
const error = $("login-error");
const passwordStep = $("password-step");
const codeStep = $("code-step");
const startOver = $("start-over");

function askForCode(asking) {
  codeStep.hidden = !asking;
  startOver.hidden = !asking;
  passwordStep.hidden = asking;
  form.otp.value = "";
  (asking ? form.otp : form.password).focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const body = { login: form.login.value, password: form.password.value };
  if (!codeStep.hidden) body.otp = form.otp.value.trim();
  let response;
  try {
    response = await reach("/api/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
    return;
  }
  if (response.ok) {
    window.location.assign("/web/");
    return;
  }
  const answer = await response.json().catch(() => ({}));
  if (answer.totp_required && codeStep.hidden) {
    askForCode(true);
    return;
  }
  error.textContent = answer.error || t("Login failed");
  error.hidden = false;
  if (answer.totp_required) form.otp.select();
  else {
    askForCode(false);
    form.password.select();
  }
});

startOver.addEventListener("click", () => {
  error.hidden = true;
  askForCode(false);
});

const org = new URLSearchParams(window.location.search).get("org");
if (org) applyBranding(org).catch(() => {});
