"""``hoist.services`` exports what a service's author and its tests need for locks and
identities, each the one object defined where it lives."""

from __future__ import annotations

import pytest

import hoist.services
from hoist import errors
from hoist.services import identity, locks


def test_lock_and_identity_names_are_exported() -> None:
    assert hoist.services.LockAnswer is locks.LockAnswer
    assert hoist.services.LockHandlers is locks.LockHandlers
    assert hoist.services.Identity is identity.Identity
    assert hoist.services.sign is identity.sign
    assert hoist.services.verify is identity.verify
    assert hoist.services.IdentityError is errors.IdentityError
    assert hoist.services.LockExpiredError is errors.LockExpiredError


def test_all_matches_the_lazy_table_and_is_documented() -> None:
    assert set(hoist.services.__all__) == {"forms", "response", *hoist.services._EXPORTS}
    for name in hoist.services.__all__:
        assert getattr(hoist.services, name).__doc__, f"{name} has no docstring"


def test_a_token_signed_through_the_package_verifies() -> None:
    token = hoist.services.sign("s3cret", "alice", "viewer", run="r1")
    found = hoist.services.verify("s3cret", token, run="r1")
    assert (found.user, found.role, found.run) == ("alice", "viewer", "r1")
    with pytest.raises(hoist.services.IdentityError, match="signature"):
        hoist.services.verify("other", token, run="r1")
