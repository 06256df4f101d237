"""SCIM's media type, bodies and request parameters, in one place."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response, request

from app.scim import resources as scim_resources
from app.scim.exceptions import InvalidSyntax, InvalidValue
from app.scim.resources import Path

MEDIA_TYPE = "application/scim+json"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
MAX_RESULTS = 200
ACCEPTED_BODY_TYPES = frozenset({MEDIA_TYPE, "application/json"})


def scim_response(
    body: Mapping[str, Any] | None, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    data = "" if body is None else json.dumps(body, ensure_ascii=False)
    response = Response(data, status=status, headers=dict(headers or {}))
    if body is not None:
        response.content_type = f"{MEDIA_TYPE}; charset=utf-8"
    else:
        del response.headers["Content-Type"]  # no body, so no type (not Flask's text/html)
    return response


def base_url() -> str:
    return request.host_url.rstrip("/") + "/scim/v2"


def check_media_type() -> None:
    """415 unless the body is application/scim+json or application/json (or unlabelled)."""
    mimetype = request.mimetype
    if mimetype and mimetype not in ACCEPTED_BODY_TYPES:
        raise UnsupportedBody(f"Send {MEDIA_TYPE} or application/json, not {mimetype}")


def json_body() -> Any:
    """The request's JSON body (application/scim+json or application/json)."""
    check_media_type()
    body = scim_resources.loads_body(request.get_data())
    if not isinstance(body, dict):
        raise InvalidSyntax("The body must be a JSON object")
    return body


class UnsupportedBody(InvalidSyntax):
    """A body in a media type SCIM does not use (415)."""

    status = 415


def if_match() -> Collection[str] | None:
    """The tags of If-Match, None when absent or ``*``."""
    tags = request.if_match
    if not tags or tags.star_tag:
        return None
    return tags.as_set(include_weak=True)


def integer_param(params: Mapping[str, Any], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"{name} must be an integer, not {raw!r}") from exc


def names_param(params: Mapping[str, Any], name: str) -> list[str]:
    raw = params.get(name)
    if raw is None:
        return []
    if isinstance(raw, list):
        return [str(item) for item in raw]
    return [part for part in str(raw).split(",") if part.strip()]


@dataclass(frozen=True)
class ListParams:
    """A list request's parameters (query string or SearchRequest body), names case-insensitive."""

    filter: str | None
    start_index: int
    count: int
    sort_by: str | None
    descending: bool
    attributes: list[Path] | None
    excluded: list[Path] | None

    def wants(self, name: str) -> bool:
        """Whether the top-level attribute ``name`` will be shown."""
        key = name.lower()
        if self.attributes and not any(path[:1] == (key,) for path in self.attributes):
            return False
        return not (self.excluded and (key,) in self.excluded)


def projection(
    params: Mapping[str, Any], schemas: tuple[str, ...]
) -> tuple[list[Path] | None, list[Path] | None]:
    lowered = {str(key).lower(): value for key, value in params.items()}
    attributes = names_param(lowered, "attributes")
    excluded = names_param(lowered, "excludedattributes")
    return (
        scim_resources.parse_paths(attributes, schemas) if attributes else None,
        scim_resources.parse_paths(excluded, schemas) if excluded else None,
    )


def list_params(params: Mapping[str, Any], schemas: tuple[str, ...]) -> ListParams:
    lowered = {str(key).lower(): value for key, value in params.items()}
    order = str(lowered.get("sortorder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise InvalidValue("sortOrder must be ascending or descending")
    attributes, excluded = projection(lowered, schemas)
    text = lowered.get("filter")
    sort_by = lowered.get("sortby")
    return ListParams(
        filter=str(text) if text else None,
        start_index=max(integer_param(lowered, "startindex", 1), 1),
        count=min(max(integer_param(lowered, "count", MAX_RESULTS), 0), MAX_RESULTS),
        sort_by=str(sort_by) if sort_by else None,
        descending=order == "descending",
        attributes=attributes,
        excluded=excluded,
    )


def list_response(resources: list[dict[str, Any]], total: int, start_index: int) -> Response:
    return scim_response(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "startIndex": start_index,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )
