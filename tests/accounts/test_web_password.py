"""The password form of the settings page, in a real browser (Playwright, Debian's chromium).

Like test_web_settings.py: the suite's SQLite server, no console errors allowed.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser import log_in, open_settings, shoot_part
from helpers import web_session

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
NEW = "Neues-Passwört-2031"


def test_password_changed_in_settings_logs_out_the_other_sessions(page, server):
    login = server.user()
    other, _ = web_session(server, login)
    open_settings(page, login, "password")
    form, status = page.locator("#password-form"), page.locator("#password-status")
    form.locator("[name=current]").fill("a wrong one")
    form.locator("[name=new]").fill(NEW)
    form.locator("[name=again]").fill(NEW + "x")
    form.locator("button[type=submit]").click()
    expect(status).to_have_text("The two new passwords differ.")
    form.locator("[name=again]").fill(NEW)
    form.locator("button[type=submit]").click()
    expect(status).to_have_text("the current password is wrong")
    assert other.get("/api/me").status_code == 200  # a refusal changes nothing
    form.locator("[name=current]").fill("correct horse battery")
    form.locator("button[type=submit]").click()
    expect(status).to_contain_text("Password changed")
    expect(form.locator("[name=new]")).to_have_value("")
    shoot_part(page, "#password", "settings-password")
    assert other.get("/api/me").status_code == 401
    other.close()
    page.reload()  # this session lives on
    expect(page.locator("body.ready")).to_have_count(1)
    page.context.clear_cookies()
    log_in(page, login, NEW)
    expect(page).to_have_url(re.compile("/web/$"))
    page.errors.clear()  # the browser logs the refused change's 403 answer as an error
