"""The API's two representations, rendered and parsed in one place.

XML is the default (Cisco's); JSON is the same tree without the root element. Data handed to
:func:`render` is what the schemas dumped: mappings, lists, strings, numbers, booleans; None is
left out of both representations.

Text that XML 1.0 cannot carry (control characters other than tab, LF and CR; lone surrogates;
U+FFFE and U+FFFF) is stripped from XML output rather than refused: a stored value must never
make a resource unreadable. Request bodies cannot bring such characters in (the load schemas
refuse them), so only older or imported data is affected. JSON carries them escaped.
"""

from __future__ import annotations

import json as jsonlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml
from flask import Request, Response
from werkzeug.datastructures import Headers, MIMEAccept
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_accept_header
from werkzeug.wrappers import Request as BaseRequest

from app.api.schemas import XML_ILLEGAL
from app.exceptions import InvalidInput, TooLarge, UnsupportedMediaType

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
XML_CONTENT_TYPE = "application/xml; charset=utf-8"
JSON_MIMETYPE = "application/json"
XML_MIMETYPES = frozenset({"application/xml", "text/xml"})

# In XML a list is a wrapper element holding one element per item (JSON: the wrapper's array).
LIST_ITEMS: dict[str, str] = {
    "bulkJobs": "bulkJob",
    "agents": "agent",
    "apiErrors": "apiError",
    # The directory's (docs/directory.md): its lists, and the lists inside its objects.
    "skillGroups": "skillGroup",
    "agentTeams": "agentTeam",
    "attributes": "attribute",
    "agentDeskSettings": "agentDeskSetting",
    "departments": "department",
    "mediaRoutingDomains": "mediaRoutingDomain",
    "callTypes": "callType",
    "dialedNumbers": "dialedNumber",
    "supervisors": "supervisor",
    "agentAttributes": "agentAttribute",
    "supervisorTeams": "supervisorTeam",
}

_MAX_DEPTH = 16  # of nested elements or objects in a request body; ours use 2
_SURROGATE = re.compile("[\ud800-\udfff]")

HeadersLike = Headers | Mapping[str, str] | Sequence[tuple[str, str]] | None

# Compact JSON, ASCII only; one encoder (json.dumps with arguments builds one per call).
_to_json = jsonlib.JSONEncoder(separators=(",", ":")).encode


def wants_json(request: BaseRequest) -> bool:
    """Whether the caller's Accept prefers JSON; XML otherwise (also for */* or no Accept)."""
    return prefers_json(request.headers.get("Accept", ""))


@lru_cache(maxsize=256)
def prefers_json(accept: str) -> bool:
    # A client sends the same Accept on every request: parsed once per process, not per poll.
    # text/xml is a candidate so that "text/xml, application/json;q=0.5" stays XML.
    best = parse_accept_header(accept, MIMEAccept).best_match(
        ["application/xml", "text/xml", JSON_MIMETYPE], default="application/xml"
    )
    return best == JSON_MIMETYPE


# --- rendering -------------------------------------------------------------------------------


def render(
    data: Mapping[str, Any] | Sequence[Any],
    root: str,
    status: int = 200,
    json: bool = False,
    headers: HeadersLike = None,
) -> Response:
    """``data`` as XML under ``<root>`` or as JSON.

    A list is rendered with ``root`` as its wrapper: ``render(errors, "apiErrors")`` gives
    ``<apiErrors><apiError>...</apiError></apiErrors>``, or ``{"apiErrors": [...]}`` in JSON.
    """
    return respond(render_body(data, root, json), json, status, headers)


def render_body(data: Mapping[str, Any] | Sequence[Any], root: str, json: bool) -> bytes:
    """The body :func:`render` answers with."""
    if json:
        return _to_json(_prune({root: data} if _is_list(data) else data)).encode("ascii")
    return to_xml(data, root)


def respond(body: bytes, json: bool, status: int = 200, headers: HeadersLike = None) -> Response:
    """A rendered body (:func:`render_body`) as the response, with its media type."""
    if json:
        return Response(body, status=status, headers=headers, mimetype=JSON_MIMETYPE)
    return Response(body, status=status, headers=headers, content_type=XML_CONTENT_TYPE)


def to_xml(data: Mapping[str, Any] | Sequence[Any], root: str) -> bytes:
    """The XML document (declaration included), encoded as UTF-8."""
    element = ET.Element(root)
    _fill(element, root, data)
    text = ET.tostring(element, encoding="unicode")
    # A raw CR would be read back as LF (XML normalises line ends); keep it as a reference.
    # ElementTree writes no CR of its own, so every CR here is in text content.
    return (XML_DECLARATION + text.replace("\r", "&#13;")).encode("utf-8")


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _fill(element: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            if child is not None:
                _fill(ET.SubElement(element, key), key, child)
    elif _is_list(value):
        try:
            item_name = LIST_ITEMS[name]
        except KeyError:
            raise ValueError(f"No XML item name for the list {name!r}; see LIST_ITEMS") from None
        for item in value:
            if item is not None:
                _fill(ET.SubElement(element, item_name), item_name, item)
    else:
        element.text = _xml_text(value)


def _xml_text(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return XML_ILLEGAL.sub("", str(value))


def _prune(value: Any) -> Any:
    """The JSON tree: None left out, as in XML."""
    if isinstance(value, (str, int, float)):  # the leaves, most values: no ABC check for them
        return value
    if isinstance(value, (dict, Mapping)):
        return {key: _prune(child) for key, child in value.items() if child is not None}
    if _is_list(value):
        return [_prune(item) for item in value if item is not None]
    return value


# --- parsing ---------------------------------------------------------------------------------


def parse_body(request: Request, root: str) -> dict[str, Any]:
    """The request body as a dict of field -> value, from JSON or from XML under ``<root>``.

    XML elements become their text ("" when present but empty), or a dict when they have child
    elements. Refuses: other content types (415), bodies over MAX_CONTENT_LENGTH (413, before
    reading them), malformed bodies, DTDs and entity declarations, a wrong root element (400).
    """
    mimetype = request.mimetype
    if mimetype == JSON_MIMETYPE:
        return _parse_json(_read_body(request), root)
    if mimetype in XML_MIMETYPES:
        return _parse_xml(_read_body(request), root)
    raise UnsupportedMediaType(
        f"Content-Type {mimetype or '(none)'} is not supported; send the {root} as "
        "application/xml or application/json",
        "Content-Type",
    )


def _too_large(limit: int | None) -> TooLarge:
    return TooLarge(f"The request body is larger than the limit of {limit} bytes", "body")


def _read_body(request: Request) -> bytes:
    limit = request.max_content_length  # MAX_CONTENT_LENGTH unless a view changed it
    length = request.content_length
    if limit is not None and length is not None and length > limit:
        raise _too_large(limit)
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise _too_large(limit) from None
    # A streamed body (no Content-Length) is cut at the limit without an error by werkzeug;
    # whatever is left unread means it was larger.
    if limit is not None and length is None and len(data) >= limit and _more_input(request):
        raise _too_large(limit)
    return data


def _more_input(request: Request) -> bool:
    stream = request.environ.get("wsgi.input")
    return stream is not None and bool(stream.read(1))


def _empty(root: str) -> InvalidInput:
    return InvalidInput(f"The request body is empty; send a {root}", "body")


def _parse_json(body: bytes, root: str) -> dict[str, Any]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"The request body is not valid UTF-8 (byte offset {exc.start})", "body"
        ) from None
    if not text.strip():
        raise _empty(root)
    try:
        value = jsonlib.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except jsonlib.JSONDecodeError as exc:
        raise InvalidInput(
            f"The request body is not well-formed JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})",
            "body",
        ) from None
    except (ValueError, RecursionError):
        raise InvalidInput("The request body is not well-formed JSON", "body") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"The JSON body must be an object holding the {root}'s fields", "body")
    _check_json_values(value)
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidInput(f"The field {key} appears more than once", key[:100])
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise InvalidInput(f"{name} is not a JSON number", "body")


def _check_json_values(value: dict[str, Any]) -> None:
    """Refuse nesting deeper than ours and strings with lone surrogates (not encodable text)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise InvalidInput("The request body holds an invalid Unicode escape", "body")
        elif isinstance(item, (dict, list)):
            if depth >= _MAX_DEPTH:
                raise InvalidInput("The request body is nested too deeply", "body")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _parse_xml(body: bytes, root: str) -> dict[str, Any]:
    if not body.strip():
        raise _empty(root)
    try:
        element = parse_xml(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise InvalidInput("DTDs and entities are not allowed", "body") from None
    except ET.ParseError as exc:
        raise InvalidInput(f"The request body is not well-formed XML: {exc}", "body") from None
    if element.tag != root:
        raise InvalidInput(f"The root element must be <{root}>, not <{element.tag}>", "body")
    return _children(element, 1)


def _children(element: ET.Element, depth: int) -> dict[str, Any]:
    if depth >= _MAX_DEPTH:
        raise InvalidInput("The request body is nested too deeply", "body")
    result: dict[str, Any] = {}
    for child in element:
        if child.tag in result:
            raise InvalidInput(f"The element <{child.tag}> appears more than once", child.tag)
        result[child.tag] = _children(child, depth + 1) if len(child) else (child.text or "")
    return result
