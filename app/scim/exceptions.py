"""SCIM's refusals (RFC 7644 §3.12): each kind carries its ``scimType``; app/scim maps kinds to
statuses. Services and the filter parser raise these; nothing here knows HTTP."""

from __future__ import annotations


class ScimError(Exception):
    """A SCIM refusal; ``scim_type`` is None where the RFC defines none."""

    scim_type: str | None = None
    # The HTTP status a refusal of this kind answers with (a /Bulk operation's ``status`` too).
    status: int = 400

    def __init__(self, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if scim_type is not None:
            self.scim_type = scim_type


class InvalidValue(ScimError):
    scim_type = "invalidValue"


class InvalidSyntax(ScimError):
    scim_type = "invalidSyntax"


class InvalidFilter(ScimError):
    scim_type = "invalidFilter"


class InvalidPath(ScimError):
    scim_type = "invalidPath"


class NoTarget(ScimError):
    scim_type = "noTarget"


class Mutability(ScimError):
    scim_type = "mutability"


class TooMany(ScimError):
    scim_type = "tooMany"


class Uniqueness(ScimError):
    scim_type = "uniqueness"
    status = 409


class Conflict(ScimError):
    """A /Bulk operation whose bulkId reference cannot be resolved (RFC 7644 §3.7.1)."""

    scim_type = "invalidValue"
    status = 409


class PayloadTooLarge(ScimError):
    """A /Bulk request over maxOperations or maxPayloadSize (413; the RFC gives no scimType)."""

    status = 413


class ResourceNotFound(ScimError):
    """The resource does not exist (404)."""

    status = 404


class PreconditionFailed(ScimError):
    """If-Match named another version (412)."""

    status = 412


class KeyReused(ScimError):
    """An Idempotency-Key sent again with another request (422; the RFC gives no scimType)."""

    status = 422
