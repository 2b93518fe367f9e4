// The login form: POST /api/session as JSON, then open the calendar.
const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const body = { login: form.login.value, password: form.password.value };
  const response = await fetch("/api/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.ok) {
    window.location.assign("/web/");
    return;
  }
  const answer = await response.json().catch(() => ({}));
  error.textContent = answer.error || "Login failed";
  error.hidden = false;
  form.password.select();
});
