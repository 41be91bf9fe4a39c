"""Credential types: one module per type, each listed in ``backend/credentials/registry.py``."""

from backend.credentials.types.base import (
    CredentialFields,
    CredentialProblem,
    CredentialType,
    TestResult,
    plain_values,
    secret,
)

__all__ = ["CredentialFields", "CredentialProblem", "CredentialType", "TestResult", "plain_values", "secret"]
