"""The server's resident memory (issue 16): libraries only some requests need load
with the first such request, not at start-up. A fresh interpreter imports what
``calcard serve`` imports and must not have loaded them."""

import subprocess
import sys

LAZY = ("cryptography", "py_vapid", "http_ece", "segno", "PIL", "alembic")


def test_serving_does_not_load_what_only_some_requests_need():
    code = (
        "import sys, calcard.web.app, calcard.worker, calcard_radicale.app\n"
        f"print(','.join(m for m in {LAZY!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
