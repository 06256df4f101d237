"""Marshmallow schemas: the one source of the API's field names, for XML and JSON alike.

Dump schemas turn rows (objects with attributes, or mappings) into the Cisco representation, in
the representation's field order, leaving out what is None. Load schemas turn a parsed request
body into a dict keyed by the same wire names (``fileContent``, ``changeStamp``, ...); use them
through :func:`load_body`, which turns marshmallow's errors into the service's own exceptions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, post_dump, pre_load, validate

from app.exceptions import FieldRequired, FieldTooLong, InvalidInput, OutOfRange, ServiceError
from app.jobs import types as jobtypes
from app.jobs.check import MAX_DESCRIPTION
from app.jobs.types import Extra
from app.urls import job_path

MAX_INT = 2**31 - 1  # every integer we accept is stored in a 32-bit column

# Marshmallow's error messages are replaced by these codes; load_body turns a code into the
# errorType and a message that names the field (marshmallow's own messages do not).
_REQUIRED = "fieldRequired"
_TOO_LONG = "fieldLengthExceeded"
_OUT_OF_RANGE = "outOfRange"
_INVALID = "invalidValue"
_BAD_CHARACTERS = "badCharacters"
_UNKNOWN = "unknownField"
_NOT_OBJECT = "notObject"

# What XML 1.0 cannot carry (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF).
XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MAX_ERROR_DATA = 100

ErrorItem = tuple[str, str, str]
"""(errorType, errorData, errorMessage) of one apiError."""


class ValidationFailed(InvalidInput):
    """Several refusals of one request body; the first is also the exception's own."""

    def __init__(self, items: list[ErrorItem]):
        if not items:
            raise ValueError("ValidationFailed needs at least one item")
        error_type, error_data, message = items[0]
        super().__init__(message, error_data, error_type)
        self.items = list(items)

    @property
    def errors(self) -> list[ErrorItem]:
        return self.items


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """``name`` of a row (by attribute) or of a mapping (by key)."""
    # dict first: checking against the Mapping ABC alone costs more than the look-up.
    if isinstance(obj, (dict, Mapping)):
        return obj.get(name, default)
    return getattr(obj, name, default)


# --- dumping ---------------------------------------------------------------------------------


class _DumpSchema(Schema):
    """Reads rows by attribute (or mappings by key) and omits None values."""

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        # Rows are tuples with attributes: marshmallow's default tries obj[attr] first and
        # pays for a TypeError on every field of every row.
        return _get(obj, attr, default)

    @post_dump
    def _omit_none(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        return {key: value for key, value in data.items() if value is not None}


def _link(suffix: str, data_key: str) -> fields.Function:
    return fields.Function(
        lambda obj: {"refURL": job_path(_get(obj, "id")) + suffix}, data_key=data_key
    )


def _job_link(name: str, data_key: str) -> fields.Function:
    """A link to the job whose id is in ``name`` (docs/concepts.md, "Revert"); absent when
    there is none."""

    def link(obj: Any) -> dict[str, str] | None:
        job_id = _get(obj, name)
        return None if job_id is None else {"refURL": job_path(job_id)}

    return fields.Function(link, data_key=data_key)


def _extra_link(extra: Extra) -> fields.Function:
    """The link to ``extra`` on jobs whose type offers it; absent on the others."""

    def link(obj: Any) -> dict[str, str] | None:
        job_type = jobtypes.registry().get(_get(obj, "job_type"))
        if job_type is None or job_type.extra(extra.name) is None:
            return None
        return {"refURL": f"{job_path(_get(obj, 'id'))}/{extra.name}"}

    return fields.Function(link, data_key=extra.field)


def _extras() -> dict[str, fields.Field]:
    """One link per extra download a job type offers (SCIM bulk jobs' ``bulkResponse``)."""
    found: dict[str, fields.Field] = {}
    for job_type in jobtypes.registry().values():
        for extra in job_type.extras:
            found.setdefault(extra.field, _extra_link(extra))
    return found


# A job as Cisco's bulkJob, plus the links its type adds and our progress counters. Built from
# a mapping because the type-dependent links sit between Cisco's fields and the counters.
BulkJobSchema = _DumpSchema.from_dict(
    {
        "ref_url": fields.Function(lambda obj: job_path(_get(obj, "id")), data_key="refURL"),
        "change_stamp": fields.Integer(data_key="changeStamp"),
        "description": fields.String(),
        "job_type": fields.Integer(data_key="jobType"),
        "job_state": fields.Integer(data_key="jobState"),
        "job_host_name": fields.String(data_key="jobHostName"),
        "create_ms": fields.Integer(data_key="createDateTime"),
        "start_ms": fields.Integer(data_key="startDateTime"),
        "end_ms": fields.Integer(data_key="endDateTime"),
        "start_after_ms": fields.Integer(data_key="startAfter"),
        "notify_url": fields.String(data_key="notifyURL"),
        "log_file": _link("/log", "logFile"),
        "csv_file": _link("/csv", "csvFile"),
        **_extras(),
        "dry_run": fields.Boolean(data_key="dryRun"),
        "revert_of": _job_link("revert_of", "revertOf"),
        "reverted_by": _job_link("reverted_by", "revertedBy"),
        "retry_of": _job_link("retry_of", "retryOf"),
        "retried_by": _job_link("retried_by", "retriedBy"),
        "stop_after_failures": fields.Integer(data_key="stopAfterFailures"),
        "total_records": fields.Integer(data_key="totalRecords"),
        "processed_records": fields.Integer(data_key="processedRecords"),
        "succeeded_records": fields.Integer(data_key="succeededRecords"),
        "failed_records": fields.Integer(data_key="failedRecords"),
    },
    name="BulkJobSchema",
)


class PageInfoSchema(_DumpSchema):
    """A list's pageInfo, dumped from a mapping keyed by the wire names; links absent if None."""

    firstPage = fields.String()
    prevPage = fields.String()
    nextPage = fields.String()
    lastPage = fields.String()
    resultsPerPage = fields.Integer()
    startIndex = fields.Integer()
    totalResults = fields.Integer()
    searchTerm = fields.String()
    sortTerm = fields.String()


class PermissionInfoSchema(_DumpSchema):
    """What the caller's role may do with the listed resource."""

    canCreate = fields.Boolean()
    canUpdate = fields.Boolean()
    canDelete = fields.Boolean()
    role = fields.String()


class ApiErrorSchema(_DumpSchema):
    """One apiError; dumped from a mapping with error_type, error_data, error_message."""

    error_type = fields.String(data_key="errorType")
    error_data = fields.String(data_key="errorData")
    error_message = fields.String(data_key="errorMessage")


# --- loading ---------------------------------------------------------------------------------


class WholeNumber(fields.Integer):
    """An integer as JSON sends it (5) or as XML does ("5"); never 5.5, "5.0", true or "1_0"."""

    _DIGITS = re.compile(r"\s*[+-]?\d+\s*")

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            if abs(value) > MAX_INT:
                raise self.make_error("too_large")
            return int(value)
        if isinstance(value, str) and value.isascii() and self._DIGITS.fullmatch(value):
            if len(value) > 40:  # int() of thousands of digits is slow, then refused anyway
                raise self.make_error("too_large")
            return int(value)
        raise self.make_error("invalid")


class OptionalWholeNumber(WholeNumber):
    """A whole number that may be removed: JSON's null, or XML's empty element."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and value.strip() == "":
            return None
        return super()._deserialize(value, attr, data, **kwargs)


def _millis() -> OptionalWholeNumber:
    """A time in milliseconds since the epoch (checked further by the service), or none."""
    return OptionalWholeNumber(
        allow_none=True,
        metadata={
            "description": "not started before this time (ms since the epoch); a time past "
            "means now; at most 90 days ahead; null or empty: as soon as possible"
        },
        error_messages={"invalid": _INVALID, "too_large": _OUT_OF_RANGE, "null": _INVALID},
    )


def _no_xml_illegal(value: str) -> None:
    if XML_ILLEGAL.search(value):
        raise ValidationError(_BAD_CHARACTERS)


def _not_empty(value: str) -> None:
    if value == "":
        raise ValidationError(_REQUIRED)


def _text(*, required: bool = False, max_length: int | None = None, **kwargs: Any) -> fields.String:
    validators: list[Any] = [_no_xml_illegal]
    if max_length is not None:
        validators.append(validate.Length(max=max_length, error=_TOO_LONG))
    return fields.String(
        required=required,
        allow_none=not required,
        validate=validators + list(kwargs.pop("validate", [])),
        error_messages={
            "required": _REQUIRED,
            "null": _REQUIRED if required else _INVALID,
            "invalid": _INVALID,
            "invalid_utf8": _INVALID,
        },
        **kwargs,
    )


def _whole(*, required: bool = False, minimum: int = 0, **kwargs: Any) -> WholeNumber:
    return WholeNumber(
        required=required,
        allow_none=not required,
        validate=validate.Range(min=minimum, max=MAX_INT, error=_OUT_OF_RANGE),
        error_messages={
            "required": _REQUIRED,
            "null": _REQUIRED if required else _INVALID,
            "invalid": _INVALID,
            "too_large": _OUT_OF_RANGE,
        },
        **kwargs,
    )


# Fields of the bulkJob representation that a client cannot set (a GET body can be PUT back).
_BULKJOB_READ_ONLY = frozenset(
    field.data_key or name for name, field in BulkJobSchema().dump_fields.items()
) - {"changeStamp", "description", "jobType", "jobState"}


class _LoadSchema(Schema):
    """Drops the representation's read-only fields; any other unknown field is an error."""

    READ_ONLY: ClassVar[frozenset[str]] = frozenset()
    # marshmallow merges this class attribute into each instance's messages
    error_messages: dict[str, str] = {  # noqa: RUF012
        "unknown": _UNKNOWN,
        "type": _NOT_OBJECT,
    }

    @pre_load
    def _drop_read_only(self, data: Any, **_kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data  # marshmallow refuses it with the "type" error
        return {key: value for key, value in data.items() if key not in self.READ_ONLY}


class BulkJobCreateSchema(_LoadSchema):
    """POST /bulkjob in XML or JSON: the CSV as text, with an optional description and type,
    dryRun, startAfter, notifyURL and stopAfterFailures."""

    READ_ONLY = (
        _BULKJOB_READ_ONLY - {"dryRun", "startAfter", "notifyURL", "stopAfterFailures"}
    ) | {
        "changeStamp",
        "jobState",
    }

    fileContent = _text(required=True, validate=[_not_empty])
    description = _text(max_length=MAX_DESCRIPTION)
    jobType = _whole()
    dryRun = fields.Boolean(allow_none=True, error_messages={"invalid": _INVALID, "null": _INVALID})
    startAfter = _millis()
    notifyURL = _text(
        metadata={
            "description": "POSTed the job's representation when it ends (signed; its host "
            "must be allowed by BULKJOB_NOTIFY_HOSTS)"
        }
    )
    stopAfterFailures = _whole(
        minimum=1,
        metadata={
            "description": "the job stops before its next chunk once this many lines failed, "
            "and ends Failed (absent: never)"
        },
    )


class RevertSchema(_LoadSchema):
    """POST /bulkjob/<id>/revert: an optional description of the revert job."""

    READ_ONLY = _BULKJOB_READ_ONLY | {"changeStamp", "jobState", "jobType"}

    description = _text(max_length=MAX_DESCRIPTION)


class RetrySchema(_LoadSchema):
    """POST /bulkjob/<id>/retry: an optional corrected file of the lines to retry (the job's
    columns plus lineNumber) and description of the retry job."""

    READ_ONLY = _BULKJOB_READ_ONLY | {"changeStamp", "jobState", "jobType"}

    fileContent = _text(validate=[_not_empty])
    description = _text(max_length=MAX_DESCRIPTION)


class BulkJobUpdateSchema(_LoadSchema):
    """PUT /bulkjob/<id>: the current changeStamp, a new description, jobState 5 to cancel, a
    Queued job's new startAfter (null or empty: start now).

    jobType is read-only here (a job keeps its type), so a GET body can be PUT back as it is.
    """

    READ_ONLY = (_BULKJOB_READ_ONLY - {"startAfter"}) | {"jobType"}

    changeStamp = _whole(required=True)
    description = _text(max_length=MAX_DESCRIPTION)
    jobState = _whole()
    startAfter = _millis()


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_DATA else text[: _MAX_ERROR_DATA - 3] + "..."


def _describe(schema: Schema, name: str, code: str) -> tuple[type[ServiceError], ErrorItem]:
    """The exception class and apiError for marshmallow's ``code`` on the field ``name``."""
    field = next((f for f in schema.load_fields.values() if f.data_key == name), None)
    if field is None:
        field = schema.load_fields.get(name)
    kind: type[ServiceError] = InvalidInput
    if code == _UNKNOWN or field is None:
        message = f"Unknown field: {name}"
    elif code == _REQUIRED:
        kind, message = FieldRequired, f"{name} is required"
    elif code == _TOO_LONG:
        limit = next(v.max for v in field.validators if isinstance(v, validate.Length))
        kind, message = FieldTooLong, f"{name} must be at most {limit} characters"
    elif code == _OUT_OF_RANGE:
        low = next((v.min for v in field.validators if isinstance(v, validate.Range)), 0)
        kind, message = OutOfRange, f"{name} must be between {low} and {MAX_INT}"
    elif code == _BAD_CHARACTERS:
        message = f"{name} contains control characters that are not allowed"
    elif isinstance(field, fields.Integer):
        message = f"{name} must be a whole number"
    else:
        message = f"{name} must be text"
    name = _clip(name)
    return kind, (kind.error_type, name, message)


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """marshmallow's {field: [codes]} (nested for nested fields) -> [(field, code)]."""
    if isinstance(messages, Mapping):
        pairs = []
        for key, value in messages.items():
            pairs.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return pairs
    if isinstance(messages, list):
        return [pair for message in messages for pair in _flatten(message, prefix)]
    return [(prefix, str(messages))]


def load_body(schema: Schema, data: Any) -> dict[str, Any]:
    """Load a parsed body, or raise the service's exception for what is wrong with it.

    One problem raises its own class (FieldRequired, FieldTooLong, OutOfRange or InvalidInput);
    several raise :class:`ValidationFailed`, whose ``items`` hold them all in field order and whose
    own errorType/errorData/message are the first's.
    """
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as error:
        described = []
        for name, code in _flatten(error.messages):
            if name == "_schema" and code == _NOT_OBJECT:
                raise InvalidInput("The request body must be an object", "body") from None
            described.append(_describe(schema, name, code))
        if len(described) == 1:
            kind, (error_type, error_data, message) = described[0]
            raise kind(message, error_data, error_type) from None
        raise ValidationFailed([item for _kind, item in described]) from None
    return loaded


# Ready-made instances: building a schema costs several times what dumping one row does, and
# marshmallow 4 schemas hold no per-call state, so views can share these across threads.
bulk_job_schema = BulkJobSchema()
bulk_jobs_schema = BulkJobSchema(many=True)
page_info_schema = PageInfoSchema()
permission_info_schema = PermissionInfoSchema()
bulk_job_create_schema = BulkJobCreateSchema()
bulk_job_update_schema = BulkJobUpdateSchema()
revert_schema = RevertSchema()
retry_schema = RetrySchema()

__all__ = [
    "ApiErrorSchema",
    "BulkJobCreateSchema",
    "BulkJobSchema",
    "BulkJobUpdateSchema",
    "ErrorItem",
    "PageInfoSchema",
    "PermissionInfoSchema",
    "ValidationFailed",
    "WholeNumber",
    "bulk_job_create_schema",
    "bulk_job_schema",
    "bulk_job_update_schema",
    "bulk_jobs_schema",
    "load_body",
    "page_info_schema",
    "permission_info_schema",
]
