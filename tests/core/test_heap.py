"""The serving process gives large freed blocks back to the system (calcard.core.heap):
after one block as large as an argon2 verification's, the next is not kept."""

import os
import platform
import subprocess
import sys

import pytest

# A fresh interpreter: frees one 19 MiB block (glibc then raises its thresholds), allocates
# and frees another, and prints by how much its resident memory grew with the second.
CODE = """
import sys
{setup}
def rss():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) for l in status if l.startswith("VmRSS:")) // 1024
block = bytearray(19 << 20)
del block
before = rss()
block = bytearray(19 << 20)
del block
print(rss() - before)
"""
APP = "import calcard_radicale.asgi\ncalcard_radicale.asgi.create_app()"


def kept_mib(tmp_path, setup: str) -> int:
    env = dict(
        os.environ,
        CALCARD_DATABASE_URL=f"sqlite:///{tmp_path / 'calcard.db'}",
        CALCARD_CONFIG=str(tmp_path / "none.toml"),
    )
    done = subprocess.run(
        [sys.executable, "-c", CODE.format(setup=setup)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return int(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's heap")
def test_a_serving_process_keeps_no_large_block_it_freed(tmp_path):
    assert kept_mib(tmp_path, "") >= 15  # glibc's default: the heap keeps the second
    assert kept_mib(tmp_path, APP) < 4
