"""glibc's heap in a long-running server: large blocks go back to the system when freed.

glibc serves a request of 128 KiB or more with its own mmap and unmaps it on free; but
after freeing such a block it raises that threshold to the block's size (up to 32 MiB)
and its trim threshold to twice that (mallopt(3), "M_MMAP_THRESHOLD"). In calcard the
first block that does so is argon2's 19 MiB for a login: from then on every later
verification (the login cache lasts a minute) and every multi-megabyte answer (a
PROPFIND or sync of 10,000 members) came from the heap, and the heap kept it: 10,000
PUTs of the benchmark's events left the server at 133 MiB, 88 MiB with the threshold
fixed at glibc's default, where it starts (benchmarks/README.md, "Server memory").
Arena limits (M_ARENA_MAX 2) and malloc_trim(0) after large answers were measured too
and changed the end RSS by less than 2 MiB: not used.
"""

from __future__ import annotations

import ctypes

M_MMAP_THRESHOLD = -3  # malloc.h
MMAP_THRESHOLD = 128 * 1024  # glibc's default (DEFAULT_MMAP_THRESHOLD_MIN)


def return_large_blocks() -> bool:
    """Fix glibc's mmap threshold (which also fixes its trim threshold); False where the
    C library has no mallopt (musl answers 0, macOS has none)."""
    try:
        return bool(ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError, TypeError):
        return False
