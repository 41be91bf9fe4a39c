"""Which background roles run inside the web process (all of them in embedded mode)."""

import contextlib
import os


@contextlib.asynccontextmanager
async def embedded_services():
    roles = os.environ.get("LINKFLOW_ROLES", "")
    if "embedded" not in roles.split(","):
        yield
        return
    from backend.observability import freeze_startup_heap
    from executors.embedded import run_embedded

    async with run_embedded():
        freeze_startup_heap()  # the UI's pages are compiled and the roles started by now
        yield
