"""Web Push in a real browser (Playwright, Debian's chromium): the page's subscription code
and the service worker's notification, with a stub PushManager (the browser's own push
service cannot be reached here). The stub hands out a subscription on the tests' loopback
push service, so what the server then sends is decrypted and checked there."""

from __future__ import annotations

import base64
import json
import re
import time

import pytest
from playwright.sync_api import expect

from calcard import accounts
from calcard.reminders import delivery

from browser import log_in
from conftest import b64url, unb64url
from helpers import send_pushes

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

STUB = """
(() => {
  const calls = (window.__push = { subscribes: 0 });
  let current = null;
  const manager = {
    getSubscription: async () => current,
    subscribe: async (options) => {
      calls.subscribes += 1;
      calls.userVisibleOnly = options.userVisibleOnly;
      calls.key = btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey)));
      current = {
        endpoint: ENDPOINT,
        toJSON: () => ({ endpoint: ENDPOINT, expirationTime: null, keys: KEYS }),
      };
      return current;
    },
  };
  Object.defineProperty(ServiceWorkerRegistration.prototype, "pushManager", {
    configurable: true,
    get: () => manager,
  });
})();
"""


def until(page, script: str, timeout: float = 15.0):
    """Poll ``script`` in the page until it is truthy (the page's CSP forbids the eval
    behind ``wait_for_function``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError(f"never true: {script}")


def stubbed(page, sub) -> None:
    keys = {"p256dh": sub.p256dh, "auth": b64url(sub.auth)}
    script = STUB.replace("ENDPOINT", json.dumps(sub.url)).replace("KEYS", json.dumps(keys))
    page.context.add_init_script(script)


def test_page_subscribes_with_the_vapid_key_and_lists_and_removes_it(page, server, push):
    service, settings = push
    login = server.user()
    sub = service.subscriber()
    stubbed(page, sub)
    log_in(page, login)
    expect(page).to_have_url(re.compile("/web/$"))
    until(page, "() => window.__push && window.__push.subscribes === 1")
    calls = page.evaluate("window.__push")
    assert calls["userVisibleOnly"] is True
    assert base64.b64decode(calls["key"]) == unb64url(service.vapid_key)
    with server.backend.db.transaction(write=True) as s:
        delivery.notify_browser(s, login, None, "Invitation: Planning", "From someone")
    send_pushes(settings)
    [got] = service.messages(sub)
    notice = json.loads(got.plaintext)
    assert notice["title"] == "Invitation: Planning"
    page.goto("/web/settings")
    row = page.locator("#push-list tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("127.0.0.1")
    row.get_by_role("button", name="Remove").click()
    expect(page.locator("#push-list tr")).to_have_count(0)
    expect(page.locator("#no-push")).to_be_visible()


def test_service_worker_shows_a_pushed_reminder_with_its_stop_action(page, server, push):
    service, _ = push
    login = server.user()
    stubbed(page, service.subscriber())
    log_in(page, login)
    expect(page).to_have_url(re.compile("/web/$"))
    until(page, "() => window.__push && window.__push.subscribes === 1")
    cdp = page.context.new_cdp_session(page)
    registrations: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(r["registrationId"] for r in e["registrations"]),
    )
    until(page, "async () => !!(await navigator.serviceWorker.ready).active")
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not registrations and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert registrations
    data = {
        "title": "Standup",
        "body": "When: now",
        "tag": "calcard-7",
        "id": 7,
        "stop": {"url": "/api/reminders/7/stop", "sig": "0" * 32, "title": "Beenden"},
    }
    shown = None
    deadline = time.monotonic() + 30
    while shown is None and time.monotonic() < deadline:
        # Delivered again until shown: right after activation (more so on a busy machine)
        # a push can reach a worker version that is being replaced, and is dropped.
        for registration in dict.fromkeys(registrations):
            cdp.send(
                "ServiceWorker.deliverPushMessage",
                {"origin": server.url, "registrationId": registration, "data": json.dumps(data)},
            )
        page.wait_for_timeout(500)
        shown = page.evaluate(
            """async () => {
              const found = await (await navigator.serviceWorker.ready).getNotifications();
              return found.length ? found.map((n) => ({title: n.title, body: n.body, tag: n.tag,
                actions: n.actions.map((a) => [a.action, a.title])})) : null;
            }"""
        )
    assert shown == [
        {
            "title": "Standup",
            "body": "When: now",
            "tag": "calcard-7",
            "actions": [["stop", "Beenden"]],  # the title the server wrote, in the language
        }
    ]


def test_a_browser_subscription_is_labeled_in_the_users_language(page, server, push):
    service, _ = push
    login = server.user()
    with server.backend.db.transaction(write=True, owners=[login]) as s:
        accounts.update_settings(s, login, {"language": "de"})
    stubbed(page, service.subscriber())
    log_in(page, login)  # an English browser
    expect(page).to_have_url(re.compile("/web/$"))
    until(page, "() => window.__push && window.__push.subscribes === 1")
    page.goto("/web/settings")
    row = page.locator("#push-list tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(re.compile(r"Browser: .+ auf |Browser auf "))  # German
