"""Give memory back to the system after a large request or run.

Python frees the objects of a 50 MB webhook body or run input as soon as they are no longer used,
(or, when they hang in a reference cycle, at the next full collection, which may be many requests
away), and glibc's allocator keeps freed pages for reuse: the process stayed ~200 MB larger after
one such request (issue #18). So large buffers (the body's bytes, JSON texts) are allocated with
mmap and unmapped on free (a fixed threshold: glibc's moving one rises after the first large free,
and keeps the next ones on the heap), and a thread, when the resident size has grown well past
where it last left it, runs a full collection and trims the heap (``malloc_trim``, without the GIL).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import sys
import threading

log = logging.getLogger("linkflow.memory")
M_MMAP_THRESHOLD = -3  # mallopt parameter (malloc.h)
MMAP_THRESHOLD_BYTES = 1 << 20  # buffers from 1 MiB up are mapped on their own and unmapped when freed
CHECK_EVERY_S = 5.0
GROWTH_BYTES = 16 << 20  # trim once the resident size is this much above where the last trim left it

_libc = None
if sys.platform == "linux":
    try:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _libc.malloc_trim  # noqa: B018 - glibc only; musl has none
    except (OSError, AttributeError):
        _libc = None
_started = False
_lock = threading.Lock()


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def trim() -> int:
    """Collect garbage in cycles, then return freed heap pages to the system; the resident size after."""
    gc.collect()  # a request's data can hang in a cycle (a task, its frames, an exception) until a full collection
    if _libc is not None:
        _libc.malloc_trim(0)
    return resident_bytes()


def keep_trimmed() -> None:
    """Set the mmap threshold and start the trimming thread (once per process; Linux with glibc only)."""
    global _started
    with _lock:
        if _started or _libc is None:
            return
        _started = True
    _libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    threading.Thread(target=_watch, name="linkflow-memory", daemon=True).start()


def _watch() -> None:
    floor = trim()
    stop = threading.Event()
    while not stop.wait(CHECK_EVERY_S):
        try:
            now = resident_bytes()
            floor = trim() if now > floor + GROWTH_BYTES else min(floor, now)
        except Exception:  # never let the watcher die on a transient error
            log.exception("memory trim failed")
