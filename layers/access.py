"""Who may do what: roles, bearer tokens (stored only as hashes) and which layers a person may see."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

ROLES = ("viewer", "planner", "admin")
RANK = {"anonymous": 0, "viewer": 1, "planner": 2, "admin": 3}
# What a revision says about people and the department's files: who made it and from which file (its import
# report names the file too).  Only planners and admins read them.
REDACTED_REVISION_FIELDS = ("author", "source_file", "report")


@dataclass(frozen=True)
class Principal:
    """The person behind a request."""

    name: str
    role: str  # anonymous | viewer | planner | admin

    @property
    def sees_internal(self) -> bool:
        """Internal layers (drafts) are for the department's planners and admins only."""
        return RANK[self.role] >= RANK["planner"]

    @property
    def sees_names(self) -> bool:
        """Who changed a layer and from which file are for planners and admins: anonymous users and viewers read
        the data, not the department's staff or file names."""
        return RANK[self.role] >= RANK["planner"]

    def can(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


ANONYMOUS = Principal("anonymous", "anonymous")


def new_token() -> str:
    """A random secret shown once to its owner; only its hash is kept."""
    return "pm_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 of the token: tokens are 256-bit random secrets, so a fast hash is safe and lookups are exact."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def revision_for(revision: dict, who: Principal) -> dict:
    """A revision as `who` may read it: without author, source file and import report unless a planner or admin."""
    if who.sees_names:
        return revision
    return {**revision, **{k: None for k in REDACTED_REVISION_FIELDS if k in revision}}
