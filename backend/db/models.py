"""Imports every service's tables so Base.metadata is complete (Alembic, tests)."""

from backend.analytics import models as _analytics  # noqa: F401
from backend.audit import models as _audit  # noqa: F401
from backend.auth import models as _auth  # noqa: F401
from backend.billing import models as _billing  # noqa: F401
from backend.credentials import models as _credentials  # noqa: F401
from backend.db.base import Base
from backend.events import models as _events  # noqa: F401
from backend.executions import models as _executions  # noqa: F401
from backend.listeners import models as _listeners  # noqa: F401
from backend.notifications import models as _notifications  # noqa: F401
from backend.schedules import models as _schedules  # noqa: F401
from backend.users import models as _users  # noqa: F401
from backend.variables import models as _variables  # noqa: F401
from backend.vendorhooks import models as _vendorhooks  # noqa: F401
from backend.webhooks import models as _webhooks  # noqa: F401
from backend.workflows import models as _workflows  # noqa: F401

metadata = Base.metadata
