"""An installed wheel serves the complete web calendar (issue 18): built from the source
tree, installed into a fresh virtualenv, run from a directory outside the tree.

The fresh virtualenv takes calcard's dependencies from the test run's own environment
(a path entry, so nothing is downloaded); calcard itself comes only from the wheel,
which the test checks before serving.
"""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from playwright.sync_api import expect

from browser import ZONE, browser_page, log_in
from conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
LEFT_OUT = (
    "build", "dist", ".venv", "*.egg-info", "node_modules", "tests", "data", ".git", "benchmarks"
)


def _run(*args: str, cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The ``calcard`` command of a fresh virtualenv holding the wheel built from ROOT."""
    tmp = tmp_path_factory.mktemp("wheel")
    # A clean copy of the tree: a build/ left by an earlier build would be packed as it is.
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_OUT))
    (source / "node_modules").symlink_to(ROOT / "node_modules")  # what `npm ci` would make
    _run(sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(tmp),
         cwd=tmp)
    (wheel,) = tmp.glob("calcard-*.whl")
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", str(venv), cwd=tmp)
    python = venv / "bin" / "python"
    own_site = _run(str(python), "-c", "import site; print(site.getsitepackages()[0])", cwd=tmp)
    Path(own_site.strip(), "dependencies.pth").write_text("\n".join(site.getsitepackages()))
    _run(str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel), cwd=tmp)
    where = _run(str(python), "-c", "import calcard; print(calcard.__file__)", cwd=tmp)
    assert where.startswith(str(venv)), where  # the wheel's copy, not the source tree
    return venv / "bin" / "calcard"


@pytest.fixture
def wheel_server(installed, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALCARD_")}
    env.pop("PYTHONPATH", None)
    env["CALCARD_DATA_DIR"] = str(tmp_path)
    process = subprocess.Popen(
        [str(installed), "serve", "--demo", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read()
            subprocess.run(["sleep", "0.2"], check=True)
        yield SimpleNamespace(url=url)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_installed_wheel_serves_the_whole_web_calendar(browser, wheel_server):
    loaded: dict[str, int] = {}

    def record(response) -> None:
        if response.request.resource_type in ("script", "stylesheet"):
            loaded[response.url] = response.status

    for page in browser_page(browser, wheel_server, ZONE):
        page.on("response", record)
        log_in(page, "alice", "alice-demo-pass")
        expect(page).to_have_url(re.compile("/web/$"))
        page.click(".fc-timeGridWeek-button")
        expect(page.locator(".fc-event", has_text="Team meeting").first).to_be_visible()
    vendor = [u for u in loaded if "/web/vendor/" in u]
    # 304: the browser revalidated a file it had loaded for the previous page
    assert len(vendor) == 4 and set(loaded.values()) <= {200, 304}, loaded  # vendor.json
