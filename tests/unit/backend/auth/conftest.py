"""Fixtures of the auth tests: accounts made through the public sign-up endpoint."""

from __future__ import annotations

import auth_testkit
import pytest


@pytest.fixture
def signup(api):
    """signup("a@x.io") -> Account, signed up through POST /api/v1/auth/signup."""
    return lambda email, **kw: auth_testkit.signup(api, email, **kw)


@pytest.fixture
def add_member(api):
    """add_member(owner, member, Role.EDITOR): invited by mail and accepted, like a person would."""
    return lambda owner, member, role: auth_testkit.add_member(api, owner, member, role)
