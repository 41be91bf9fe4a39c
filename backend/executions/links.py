"""Signed links to an execution, computed where the run starts (worker, webhook intake)."""

from __future__ import annotations

import hashlib
import hmac

from backend.settings import get_settings


def resume_signature(execution_id: str) -> str:
    key = get_settings().security.secret_key.encode()
    return hmac.new(key, execution_id.encode(), hashlib.sha256).hexdigest()


def signed_resume_url(execution_id: str) -> str:
    """The public URL that resumes this execution's `wait` node (mode webhook): `$execution.resume_url`."""
    return f"{get_settings().webhook_url}/webhook-waiting/{execution_id}?signature={resume_signature(execution_id)}"
