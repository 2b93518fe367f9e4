"""The server's resident memory (issue 16): libraries only some requests need load
with the first such request, not at start-up. A fresh interpreter imports what
``calcard serve`` imports and must not have loaded them."""

import os
import subprocess
import sys

from calcard.core.db import Database
from calcard.core.models import ServerSecret
from calcard.push import vapid

# httpx only posts (webhooks, push; it brings rich and pygments), holidays only serves
# holiday calendars: 3 to 5 MiB each.
LAZY = ("cryptography", "py_vapid", "http_ece", "segno", "PIL", "alembic", "holidays", "httpx")
SERVE = "calcard.cli, calcard.web.server, calcard.web.app, calcard.worker, calcard_radicale.asgi"


def loaded_after(code: str, env: dict[str, str] | None = None) -> str:
    """The modules of LAZY a fresh interpreter holds after running ``code``."""
    code += f"\nimport sys\nprint(','.join(m for m in {LAZY!r} if m in sys.modules))"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.strip()


def migrated(tmp_path) -> str:
    """The URL of a new SQLite database at the current schema."""
    url = f"sqlite:///{tmp_path / 'calcard.db'}"
    db = Database(url)
    db.upgrade()
    db.dispose()
    return url


def test_serving_does_not_load_what_only_some_requests_need():
    assert loaded_after(f"import {SERVE}") == ""


def test_a_dispatcher_round_without_holiday_calendars_loads_neither_holidays_nor_httpx(
    tmp_path,
):
    """The round includes the hourly housekeeping, which refreshes holiday calendars."""
    url = migrated(tmp_path)
    code = (
        f"import {SERVE}\n"
        "from calcard.core.config import load_settings\n"
        "from calcard.core.db import Database\n"
        "settings = load_settings()\n"
        "calcard.worker.Dispatcher(Database(settings.database_url), settings).run_once()\n"
    )
    env = dict(os.environ, CALCARD_DATABASE_URL=url, CALCARD_CONFIG=str(tmp_path / "none.toml"))
    assert loaded_after(code, env) == ""


def test_making_the_keys_at_start_loads_no_cryptography(tmp_path):
    """Each serving process makes the link and push keys as it starts; the push key's
    private scalar is drawn without the cryptography libraries."""
    url = migrated(tmp_path)
    code = (
        f"import {SERVE}\n"
        "from calcard.core import links\n"
        "from calcard.core.db import Database\n"
        "from calcard.push import vapid\n"
        f"db = Database({url!r})\n"
        "links.make_key(db)\n"
        "vapid.make_key(db)\n"
    )
    assert loaded_after(code) == ""
    with Database(url).transaction() as s:
        assert len(vapid.b64url_decode(s.get(ServerSecret, vapid.KEY_NAME).value)) == 32
