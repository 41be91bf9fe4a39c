"""Which background roles run inside the web process (all of them in embedded mode)."""

import contextlib
import os


@contextlib.asynccontextmanager
async def embedded_services():
    roles = os.environ.get("LINKFLOW_ROLES", "")
    if "embedded" not in roles.split(","):
        yield
        return
    from executors.embedded import run_embedded

    async with run_embedded():
        yield
