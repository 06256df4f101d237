"""Rendering, negotiation, body parsing and the API's error bodies, on a tiny app of their own.

XML 1.0 cannot carry most control characters: rendering strips them (a stored value must never
make a resource unreadable), the load schemas refuse them in request bodies (see test_schemas),
and JSON carries them escaped.
"""

from __future__ import annotations

import io
import json
import logging
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy.exc
from flask import Blueprint, Flask, Response, abort, request
from flask.testing import FlaskClient
from werkzeug.exceptions import TooManyRequests
from werkzeug.test import EnvironBuilder

from app import exceptions as errors
from app.api import errors as api_errors
from app.api.representation import LIST_ITEMS, parse_body, render, to_xml, wants_json
from app.api.schemas import BulkJobSchema, PageInfoSchema, PermissionInfoSchema, ValidationFailed

DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
LIMIT = 1000

JOB = {
    "id": 5001,
    "change_stamp": 2,
    "description": "sso migration bulk job",
    "job_type": 5,
    "job_state": 3,
    "job_host_name": "web-1",
    "create_ms": 1461785074000,
    "start_ms": 1461785074000,
    "end_ms": 1461785075000,
    "total_records": 40000,
    "processed_records": 40000,
    "succeeded_records": 39990,
    "failed_records": 10,
}

JOB_XML = (
    "<bulkJob>"
    "<refURL>/unifiedconfig/config/bulkjob/5001</refURL>"
    "<changeStamp>2</changeStamp>"
    "<description>sso migration bulk job</description>"
    "<jobType>5</jobType>"
    "<jobState>3</jobState>"
    "<jobHostName>web-1</jobHostName>"
    "<createDateTime>1461785074000</createDateTime>"
    "<startDateTime>1461785074000</startDateTime>"
    "<endDateTime>1461785075000</endDateTime>"
    "<logFile><refURL>/unifiedconfig/config/bulkjob/5001/log</refURL></logFile>"
    "<csvFile><refURL>/unifiedconfig/config/bulkjob/5001/csv</refURL></csvFile>"
    "<totalRecords>40000</totalRecords>"
    "<processedRecords>40000</processedRecords>"
    "<succeededRecords>39990</succeededRecords>"
    "<failedRecords>10</failedRecords>"
    "</bulkJob>"
)

JOB_JSON = {
    "refURL": "/unifiedconfig/config/bulkjob/5001",
    "changeStamp": 2,
    "description": "sso migration bulk job",
    "jobType": 5,
    "jobState": 3,
    "jobHostName": "web-1",
    "createDateTime": 1461785074000,
    "startDateTime": 1461785074000,
    "endDateTime": 1461785075000,
    "logFile": {"refURL": "/unifiedconfig/config/bulkjob/5001/log"},
    "csvFile": {"refURL": "/unifiedconfig/config/bulkjob/5001/csv"},
    "totalRecords": 40000,
    "processedRecords": 40000,
    "succeededRecords": 39990,
    "failedRecords": 10,
}


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=LIMIT)
    return app


def _xml(response: Response) -> str:
    text = response.get_data(as_text=True)
    assert text.startswith(DECLARATION)
    return text[len(DECLARATION) :]


# --- rendering -------------------------------------------------------------------------------


def test_bulkjob_as_xml(app: Flask) -> None:
    with app.test_request_context():
        response = render(BulkJobSchema().dump(JOB), "bulkJob")
    assert response.status_code == 200
    assert response.content_type == "application/xml; charset=utf-8"
    assert _xml(response) == JOB_XML


def test_bulkjob_as_json(app: Flask) -> None:
    with app.test_request_context():
        response = render(BulkJobSchema().dump(JOB), "bulkJob", json=True)
    assert response.mimetype == "application/json"
    body = json.loads(response.get_data())
    assert body == JOB_JSON
    assert list(body) == list(JOB_JSON)  # the representation's order, not sorted


def test_absent_times_are_left_out(app: Flask) -> None:
    queued = {**JOB, "start_ms": None, "end_ms": None}
    with app.test_request_context():
        xml = _xml(render(BulkJobSchema().dump(queued), "bulkJob"))
        body = json.loads(render(BulkJobSchema().dump(queued), "bulkJob", json=True).get_data())
    assert "DateTime>1461785074000</createDateTime><logFile>" in xml
    assert "startDateTime" not in xml and "endDateTime" not in xml
    assert "startDateTime" not in body and "endDateTime" not in body


def _results() -> dict[str, Any]:
    second = {**JOB, "id": 5000, "end_ms": None}
    return {
        "pageInfo": PageInfoSchema().dump(
            {
                "firstPage": "http://h/unifiedconfig/config/bulkjob?startIndex=0&resultsPerPage=2",
                "nextPage": "http://h/unifiedconfig/config/bulkjob?startIndex=2&resultsPerPage=2",
                "lastPage": "http://h/unifiedconfig/config/bulkjob?startIndex=2&resultsPerPage=2",
                "resultsPerPage": 2,
                "startIndex": 0,
                "totalResults": 3,
            }
        ),
        "permissionInfo": PermissionInfoSchema().dump(
            {"canCreate": True, "canUpdate": True, "canDelete": False, "role": "admin"}
        ),
        "bulkJobs": BulkJobSchema(many=True).dump([JOB, second]),
    }


def test_list_as_xml(app: Flask) -> None:
    with app.test_request_context():
        xml = _xml(render(_results(), "results"))
    page = "http://h/unifiedconfig/config/bulkjob?startIndex={}&amp;resultsPerPage=2"
    second = JOB_XML.replace("5001", "5000").replace("<endDateTime>1461785075000</endDateTime>", "")
    assert xml == (
        "<results>"
        "<pageInfo>"
        f"<firstPage>{page.format(0)}</firstPage>"
        f"<nextPage>{page.format(2)}</nextPage>"
        f"<lastPage>{page.format(2)}</lastPage>"
        "<resultsPerPage>2</resultsPerPage><startIndex>0</startIndex>"
        "<totalResults>3</totalResults>"
        "</pageInfo>"
        "<permissionInfo><canCreate>true</canCreate><canUpdate>true</canUpdate>"
        "<canDelete>false</canDelete><role>admin</role></permissionInfo>"
        f"<bulkJobs>{JOB_XML}{second}</bulkJobs>"
        "</results>"
    )


def test_list_as_json(app: Flask) -> None:
    with app.test_request_context():
        body = json.loads(render(_results(), "results", json=True).get_data())
    assert list(body) == ["pageInfo", "permissionInfo", "bulkJobs"]
    assert "prevPage" not in body["pageInfo"]
    assert body["pageInfo"]["totalResults"] == 3
    assert body["permissionInfo"] == {
        "canCreate": True,
        "canUpdate": True,
        "canDelete": False,
        "role": "admin",
    }
    assert body["bulkJobs"][0] == JOB_JSON
    assert body["bulkJobs"][1]["refURL"].endswith("/5000")
    assert "endDateTime" not in body["bulkJobs"][1]


def test_a_list_given_as_data_uses_root_as_its_wrapper(app: Flask) -> None:
    items = [{"errorType": "notFound", "errorData": "7", "errorMessage": "x"}]
    with app.test_request_context():
        assert _xml(render(items, "apiErrors")) == (
            "<apiErrors><apiError><errorType>notFound</errorType><errorData>7</errorData>"
            "<errorMessage>x</errorMessage></apiError></apiErrors>"
        )
        assert json.loads(render(items, "apiErrors", json=True).get_data()) == {"apiErrors": items}


def test_empty_list_renders_as_an_empty_wrapper(app: Flask) -> None:
    data: dict[str, list[Any]] = {"bulkJobs": []}
    assert to_xml(data, "results").decode() == DECLARATION + "<results><bulkJobs /></results>"


def test_a_list_without_an_item_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="LIST_ITEMS"):
        to_xml({"things": [1]}, "results")
    assert LIST_ITEMS["agents"] == "agent"


def test_scalars_none_and_status_and_headers(app: Flask) -> None:
    data = {"flag": True, "off": False, "count": 0, "ratio": 0.5, "gone": None, "empty": ""}
    with app.test_request_context():
        response = render(data, "thing", 201, headers={"Location": "http://h/x"})
        as_json = render(data, "thing", 201, True)
    assert response.status_code == 201
    assert response.headers["Location"] == "http://h/x"
    assert _xml(response) == (
        "<thing><flag>true</flag><off>false</off><count>0</count><ratio>0.5</ratio>"
        "<empty /></thing>"
    )
    assert json.loads(as_json.get_data()) == {
        "flag": True,
        "off": False,
        "count": 0,
        "ratio": 0.5,
        "empty": "",
    }


def test_markup_is_escaped(app: Flask) -> None:
    nasty = "</description><x>&amp; \"quoted\" 'single' <&>]]>"
    xml = to_xml({"description": nasty}, "bulkJob")
    assert b"<x>" not in xml
    assert b"&lt;/description&gt;&lt;x&gt;&amp;amp;" in xml
    assert ET.fromstring(xml).findtext("description") == nasty


def test_characters_xml_cannot_carry_are_stripped_and_the_rest_round_trips(app: Flask) -> None:
    text = "a\x00b\x01c\x08d\x0be\x0cf\x1fg\ufffeh\uffffi\ud800j \t\n\r\nk \u00e9\u4e2d\U0001f600"
    xml = to_xml({"description": text}, "bulkJob")
    parsed = ET.fromstring(xml).findtext("description")
    assert parsed == "abcdefghij \t\n\r\nk \u00e9\u4e2d\U0001f600"  # CR kept as &#13;
    with app.test_request_context():
        body = render({"description": text}, "bulkJob", json=True).get_data()
    assert json.loads(body)["description"] == text  # JSON escapes them instead


def test_xml_is_utf8(app: Flask) -> None:
    xml = to_xml({"description": "Jos\u00e9"}, "bulkJob")
    assert "Jos\u00e9".encode() in xml


# --- negotiation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, False),
        ("*/*", False),
        ("application/json", True),
        ("application/xml", False),
        ("text/xml", False),
        ("text/html", False),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("application/json, */*;q=0.1", True),
        ("application/xml;q=0.5, application/json", True),
        ("text/xml, application/json;q=0.5", False),
        ("application/json;q=0", False),
        ("application/*", False),
    ],
)
def test_accept_negotiation(app: Flask, accept: str | None, expected: bool) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    with app.test_request_context(headers=headers):
        assert wants_json(request) is expected


# --- parsing ---------------------------------------------------------------------------------


def _parse(app: Flask, body: bytes | str, content_type: str | None, root: str = "bulkJob") -> Any:
    data = body.encode() if isinstance(body, str) else body
    headers = {"Content-Type": content_type} if content_type else {}
    with app.test_request_context(method="POST", data=data, headers=headers):
        return parse_body(request, root)


def _refused(app: Flask, body: bytes | str, content_type: str | None) -> errors.ServiceError:
    with pytest.raises(errors.ServiceError) as caught:
        _parse(app, body, content_type)
    return caught.value


def test_parse_xml(app: Flask) -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<bulkJob>\n"
        "  <fileContent>userName,firstName\r\nasmith,A &amp; B</fileContent>\n"
        "  <description></description>\n"
        "  <jobType>5</jobType>\n"
        "  <logFile><refURL>/x/log</refURL></logFile>\n"
        "  <!-- a comment -->\n"
        "</bulkJob>"
    )
    assert _parse(app, body, "application/xml; charset=utf-8") == {
        "fileContent": "userName,firstName\nasmith,A & B",  # XML normalises line ends
        "description": "",
        "jobType": "5",
        "logFile": {"refURL": "/x/log"},
    }


def test_parse_xml_as_text_xml_and_with_a_declared_encoding(app: Flask) -> None:
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        "<bulkJob><description>Jos\xe9</description></bulkJob>"
    )
    assert _parse(app, body.encode("latin-1"), "text/xml") == {"description": "Jos\u00e9"}
    assert _parse(app, "<bulkJob/>", "application/xml") == {}


def test_parse_json(app: Flask) -> None:
    body = {"fileContent": "a,b\r\n", "description": "d", "jobType": 5, "logFile": {"refURL": "x"}}
    assert _parse(app, json.dumps(body), "application/json") == body
    assert _parse(app, b"\xef\xbb\xbf{}", "application/json; charset=utf-8") == {}


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        ("<bulkJob><description>x</bulkJob>", "application/xml", "not well-formed XML"),
        ("<bulkJob>&nbsp;</bulkJob>", "application/xml", "not well-formed XML"),
        ("", "application/xml", "empty"),
        ('{"description": "x",}', "application/json", "not well-formed JSON"),
        ("", "application/json", "empty"),
        ("[1, 2]", "application/json", "must be an object"),
        ('"text"', "application/json", "must be an object"),
        ('{"jobType": NaN}', "application/json", "NaN"),
        ('{"a": 1, "a": 2}', "application/json", "more than once"),
        ("<bulkJob><a>1</a><a>2</a></bulkJob>", "application/xml", "more than once"),
        ('{"description": "\\ud800"}', "application/json", "Unicode"),
        (b'{"description": "\xff"}', "application/json", "not valid UTF-8"),
        ('{"a":' + "[" * 400 + "]" * 400 + "}", "application/json", "nested too deeply"),
        ('{"a":' * 20 + "1" + "}" * 20, "application/json", "nested too deeply"),
        ("<a>" * 20 + "</a>" * 20, "application/xml", "root element"),
        ("<bulkJob>" + "<a>" * 20 + "</a>" * 20 + "</bulkJob>", "application/xml", "too deeply"),
    ],
)
def test_malformed_bodies_are_400(
    app: Flask, body: str | bytes, content_type: str, words: str
) -> None:
    error = _refused(app, body, content_type)
    assert type(error) is errors.InvalidInput
    assert words in error.message
    assert "Traceback" not in error.message


def test_json_deeper_than_python_can_parse_is_400(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1_000_000
    error = _refused(app, "[" * 200_000 + "]" * 200_000, "application/json")
    assert type(error) is errors.InvalidInput
    assert error.message == "The request body is not well-formed JSON"


def test_malformed_json_says_where(app: Flask) -> None:
    error = _refused(app, '{\n  "description": "x",\n}', "application/json")
    assert error.error_data == "body"
    assert "line 3" in error.message


def test_wrong_root_element(app: Flask) -> None:
    error = _refused(app, "<agent><description>x</description></agent>", "application/xml")
    assert type(error) is errors.InvalidInput
    assert error.message == "The root element must be <bulkJob>, not <agent>"


DTD_BODIES = {
    "internal DTD": "<!DOCTYPE bulkJob [<!ELEMENT bulkJob ANY>]><bulkJob/>",
    "internal entity": (
        '<!DOCTYPE bulkJob [<!ENTITY name "value">]><bulkJob><description>&name;</description>'
        "</bulkJob>"
    ),
    "external entity": (
        '<!DOCTYPE bulkJob [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<bulkJob><description>&xxe;</description></bulkJob>"
    ),
    "external DTD": '<!DOCTYPE bulkJob SYSTEM "http://127.0.0.1:1/evil.dtd"><bulkJob/>',
    "parameter entity": (
        '<!DOCTYPE bulkJob [<!ENTITY % p SYSTEM "http://127.0.0.1:1/p">%p;]><bulkJob/>'
    ),
}


@pytest.mark.parametrize("body", DTD_BODIES.values(), ids=DTD_BODIES.keys())
def test_dtds_and_entities_are_refused(app: Flask, body: str) -> None:
    error = _refused(app, body, "application/xml")
    assert type(error) is errors.InvalidInput
    assert error.message == "DTDs and entities are not allowed"
    assert error.error_data == "body"


def test_billion_laughs_is_refused_fast(app: Flask) -> None:
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    ]
    body = (
        f"<!DOCTYPE bulkJob [{''.join(entities)}]>"
        "<bulkJob><description>&lol9;</description></bulkJob>"
    )
    started = time.perf_counter()
    error = _refused(app, body, "application/xml")
    assert time.perf_counter() - started < 0.5
    assert error.message == "DTDs and entities are not allowed"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_other_content_types_are_415(app: Flask, content_type: str | None) -> None:
    error = _refused(app, "<bulkJob/>", content_type)
    assert type(error) is errors.UnsupportedMediaType
    assert error.error_data == "Content-Type"


@pytest.mark.parametrize("content_type", ["application/xml", "application/json"])
def test_a_body_over_the_limit_is_refused_before_it_is_read(app: Flask, content_type: str) -> None:
    class Unreadable(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            raise AssertionError("the body must not be read")

    environ = EnvironBuilder(method="POST", content_type=content_type).get_environ()
    environ.update({"wsgi.input": Unreadable(), "CONTENT_LENGTH": str(LIMIT + 1)})
    with app.request_context(environ), pytest.raises(errors.TooLarge) as caught:
        parse_body(request, "bulkJob")
    assert caught.value.error_data == "body"
    assert str(LIMIT) in caught.value.message


@pytest.mark.parametrize(
    ("size", "too_large"), [(LIMIT - 1, False), (LIMIT, False), (LIMIT + 1, True)]
)
def test_a_streamed_body_is_held_to_the_limit(app: Flask, size: int, too_large: bool) -> None:
    """Without Content-Length (chunked), werkzeug cuts the body at the limit; we refuse it."""
    body = b'{"description": "' + b"x" * (size - 19) + b'"}'
    assert len(body) == size
    environ = EnvironBuilder(
        method="POST", input_stream=io.BytesIO(body), content_type="application/json"
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    with app.request_context(environ):
        if too_large:
            with pytest.raises(errors.TooLarge):
                parse_body(request, "bulkJob")
        else:
            assert len(parse_body(request, "bulkJob")["description"]) == size - 19


# --- error bodies ----------------------------------------------------------------------------

API = "/unifiedconfig/config"

DOMAIN_ERRORS: list[tuple[errors.ServiceError, int, str]] = [
    (errors.InvalidInput("bad", "q"), 400, "invalidInput.invalidValue"),
    (
        errors.FieldRequired("fileContent is required", "fileContent"),
        400,
        "invalidInput.fieldRequired",
    ),
    (errors.FieldTooLong("too long", "description"), 400, "invalidInput.fieldLengthExceeded"),
    (errors.OutOfRange("range", "resultsPerPage"), 400, "invalidInput.outOfRange"),
    (errors.NotAuthorized("who are you"), 401, "notAuthorized"),
    (errors.Forbidden("not you", "viewer"), 403, "forbidden"),
    (errors.NotFound("Bulk job 7 does not exist", "7"), 404, "notFound"),
    (errors.StaleChangeStamp("stale", "changeStamp"), 409, "changeStampMismatch"),
    (errors.JobActive("cancel first", "7"), 409, "jobActive"),
    (errors.TooLarge("too big", "body"), 413, "invalidInput.requestTooLarge"),
    (errors.UnsupportedMediaType("no", "Content-Type"), 415, "invalidInput.unsupportedMediaType"),
    (errors.ServiceError("generic", "x"), 400, "invalidInput"),
]


def _error_app(register_on_blueprint: bool = False) -> Flask:
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=LIMIT)
    bp = Blueprint("api", __name__, url_prefix=API)
    raised: dict[str, BaseException] = {}

    @bp.route("/raise/<name>", methods=["GET", "DELETE"])
    def raise_(name: str) -> Response:
        raise raised[name]

    @bp.get("/abort/<int:code>")
    def abort_(code: int) -> Response:
        abort(code)

    @bp.get("/limited")
    def limited() -> Response:
        raise TooManyRequests(retry_after=60)

    @bp.post("/echo")
    def echo() -> Response:
        return render(parse_body(request, "bulkJob"), "bulkJob", json=wants_json(request))

    @app.get("/web/boom")
    def web_boom() -> str:
        raise RuntimeError("web page failure")

    @app.get("/web/missing")
    def web_missing() -> str:
        raise errors.NotFound("no such page")

    if register_on_blueprint:
        api_errors.register(bp)  # a blueprint's setup is done before it is registered
    app.register_blueprint(bp)
    if not register_on_blueprint:
        api_errors.register(app)
    app.extensions["raised"] = raised
    return app


@pytest.fixture
def error_app() -> Flask:
    return _error_app()


@pytest.fixture
def client(error_app: Flask) -> FlaskClient:
    return error_app.test_client()


def _raise(app: Flask, client: FlaskClient, error: BaseException, accept: str = "") -> Any:
    app.extensions["raised"]["it"] = error
    return client.get(f"{API}/raise/it", headers={"Accept": accept} if accept else {})


def _errors_of(response: Any) -> list[dict[str, str]]:
    if response.mimetype == "application/json":
        body = response.get_json()
        assert list(body) == ["apiErrors"]
        items: list[dict[str, str]] = body["apiErrors"]
        return items
    assert response.content_type == "application/xml; charset=utf-8"
    root = ET.fromstring(response.get_data())
    assert root.tag == "apiErrors"
    return [{child.tag: child.text or "" for child in item} for item in root]


@pytest.mark.parametrize("accept", ["", "application/json"], ids=["xml", "json"])
@pytest.mark.parametrize(
    ("error", "status", "error_type"),
    DOMAIN_ERRORS,
    ids=[type(e[0]).__name__ for e in DOMAIN_ERRORS],
)
def test_domain_errors(
    error_app: Flask,
    client: FlaskClient,
    error: errors.ServiceError,
    status: int,
    error_type: str,
    accept: str,
) -> None:
    response = _raise(error_app, client, error, accept)
    assert response.status_code == status
    assert _errors_of(response) == [
        {"errorType": error_type, "errorData": error.error_data, "errorMessage": error.message}
    ]
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Basic realm="bulkjob"'
    else:
        assert "WWW-Authenticate" not in response.headers


def test_error_xml_is_cisco_shaped(error_app: Flask, client: FlaskClient) -> None:
    error = errors.FieldRequired("fileContent is required", "fileContent")
    response = _raise(error_app, client, error)
    assert _xml(response) == (
        "<apiErrors><apiError>"
        "<errorType>invalidInput.fieldRequired</errorType>"
        "<errorData>fileContent</errorData>"
        "<errorMessage>fileContent is required</errorMessage>"
        "</apiError></apiErrors>"
    )


@pytest.mark.parametrize("accept", ["", "application/json"], ids=["xml", "json"])
def test_validation_failed_gives_every_error(
    error_app: Flask, client: FlaskClient, accept: str
) -> None:
    items = [
        ("invalidInput.fieldRequired", "fileContent", "fileContent is required"),
        ("invalidInput.invalidValue", "colour", "Unknown field: colour"),
    ]
    response = _raise(error_app, client, ValidationFailed(items), accept)
    assert response.status_code == 400
    assert _errors_of(response) == [
        {"errorType": t, "errorData": d, "errorMessage": m} for t, d, m in items
    ]


@pytest.mark.parametrize("accept", ["", "application/json"], ids=["xml", "json"])
@pytest.mark.parametrize(
    ("path", "method", "status", "error_type"),
    [
        ("/nowhere", "GET", 404, "notFound"),
        ("/raise/x", "POST", 405, "methodNotAllowed"),
        ("/abort/400", "GET", 400, "invalidInput"),
        ("/abort/401", "GET", 401, "notAuthorized"),
        ("/abort/403", "GET", 403, "forbidden"),
        ("/abort/409", "GET", 409, "conflict"),
        ("/abort/410", "GET", 410, "gone"),
        ("/abort/412", "GET", 412, "preconditionFailed"),
        ("/abort/413", "GET", 413, "invalidInput.requestTooLarge"),
        ("/abort/415", "GET", 415, "invalidInput.unsupportedMediaType"),
        ("/limited", "GET", 429, "tooManyRequests"),
        ("/abort/503", "GET", 503, "serviceUnavailable"),
    ],
)
def test_http_errors(
    client: FlaskClient, path: str, method: str, status: int, error_type: str, accept: str
) -> None:
    response = client.open(API + path, method=method, headers={"Accept": accept} if accept else {})
    assert response.status_code == status
    [item] = _errors_of(response)
    assert item["errorType"] == error_type
    assert item["errorMessage"]
    assert "<html" not in response.get_data(as_text=True).lower()


def test_not_found_names_the_path(client: FlaskClient) -> None:
    [item] = _errors_of(client.get(f"{API}/nowhere"))
    assert item["errorData"] == f"{API}/nowhere"
    [item] = _errors_of(client.get("/unifiedconfig"))
    assert item["errorType"] == "notFound"


def test_method_not_allowed_keeps_allow(client: FlaskClient) -> None:
    response = client.post(f"{API}/raise/x")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "DELETE"}
    [item] = _errors_of(response)
    assert item["errorData"] == "POST"
    assert "allowed: DELETE, GET, HEAD, OPTIONS" in item["errorMessage"]


def test_too_many_requests_keeps_retry_after(client: FlaskClient) -> None:
    response = client.get(f"{API}/limited")
    assert response.headers["Retry-After"] == "60"


def test_werkzeug_401_gets_the_basic_challenge(client: FlaskClient) -> None:
    assert client.get(f"{API}/abort/401").headers["WWW-Authenticate"] == 'Basic realm="bulkjob"'


@pytest.mark.parametrize("accept", ["", "application/json"], ids=["xml", "json"])
def test_body_errors_through_the_handler(client: FlaskClient, accept: str) -> None:
    headers = {"Accept": accept} if accept else {}
    big = client.post(
        f"{API}/echo",
        data=b"<bulkJob>" + b"x" * LIMIT + b"</bulkJob>",
        headers=headers,
        content_type="application/xml",
    )
    assert big.status_code == 413
    assert _errors_of(big)[0]["errorType"] == "invalidInput.requestTooLarge"
    plain = client.post(f"{API}/echo", data="hello", content_type="text/plain", headers=headers)
    assert plain.status_code == 415
    dtd = client.post(
        f"{API}/echo",
        data=DTD_BODIES["external entity"],
        content_type="application/xml",
        headers=headers,
    )
    assert dtd.status_code == 400
    assert _errors_of(dtd)[0]["errorMessage"] == "DTDs and entities are not allowed"
    ok = client.post(f"{API}/echo", json={"description": "x"}, headers=headers)
    assert ok.status_code == 200


@pytest.fixture
def api_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.ERROR, logger="app.api.errors"):
        yield caplog


@pytest.mark.parametrize("accept", ["", "application/json"], ids=["xml", "json"])
def test_an_unexpected_error_is_a_500_with_an_id_and_no_details(
    error_app: Flask, client: FlaskClient, api_log: pytest.LogCaptureFixture, accept: str
) -> None:
    secret = "SELECT password_hash FROM users WHERE name = 'admin'"
    response = _raise(error_app, client, RuntimeError(secret), accept)
    assert response.status_code == 500
    [item] = _errors_of(response)
    error_id = item["errorData"]
    assert len(error_id) == 12 and int(error_id, 16) >= 0
    assert item == {
        "errorType": "internalError",
        "errorData": error_id,
        "errorMessage": f"Internal error {error_id}",
    }
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "SELECT" not in text and "RuntimeError" not in text
    [record] = [r for r in api_log.records if error_id in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[1] is not None
    assert secret in str(record.exc_info[1])
    assert "Traceback" in api_log.text


def test_each_500_has_its_own_id(error_app: Flask, client: FlaskClient) -> None:
    ids = {_errors_of(_raise(error_app, client, KeyError("k")))[0]["errorData"] for _ in range(3)}
    assert len(ids) == 3


def test_abort_500_is_an_internal_error(client: FlaskClient) -> None:
    response = client.get(f"{API}/abort/500")
    assert response.status_code == 500
    assert _errors_of(response)[0]["errorType"] == "internalError"


def test_a_dependency_that_is_down_is_503(
    error_app: Flask, client: FlaskClient, api_log: pytest.LogCaptureFixture
) -> None:
    down = sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))
    response = _raise(error_app, client, down, "application/json")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    [item] = _errors_of(response)
    assert item["errorType"] == "serviceUnavailable"
    assert "SELECT" not in response.get_data(as_text=True)
    assert item["errorData"] in api_log.text


def test_api_error_response_for_other_layers(error_app: Flask) -> None:
    items = [("notAuthorized", "", "Valid credentials are required")]
    with error_app.test_request_context(headers={"Accept": "application/json"}):
        negotiated = api_errors.api_error_response(items, 401)
        as_xml = api_errors.api_error_response(items, 401, False)
        bearer = api_errors.api_error_response(
            items, 401, True, headers={"WWW-Authenticate": "Bearer"}
        )
    assert negotiated.mimetype == "application/json"
    assert negotiated.headers["WWW-Authenticate"] == 'Basic realm="bulkjob"'
    assert as_xml.mimetype == "application/xml"
    assert _errors_of(as_xml) == [
        {"errorType": "notAuthorized", "errorData": "", "errorMessage": items[0][2]}
    ]
    assert bearer.headers.getlist("WWW-Authenticate") == ["Bearer"]


def test_paths_outside_the_api_keep_flasks_handling(error_app: Flask) -> None:
    client = error_app.test_client()
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert missing.mimetype == "text/html"
    boom = client.get("/web/boom")
    assert boom.status_code == 500
    assert boom.mimetype == "text/html"
    assert client.get("/web/missing").status_code == 500  # a web view's own errors: not ours
    assert client.get("/unifiedconfigx").mimetype == "text/html"


def test_register_on_a_blueprint_also_covers_routing_errors() -> None:
    app = _error_app(register_on_blueprint=True)
    client = app.test_client()
    assert _errors_of(client.get(f"{API}/nowhere"))[0]["errorType"] == "notFound"
    assert client.post(f"{API}/raise/x").status_code == 405
    app.extensions["raised"]["it"] = errors.JobActive("cancel first", "7")
    assert _errors_of(client.get(f"{API}/raise/it"))[0]["errorType"] == "jobActive"
    assert client.get("/no/such/page").mimetype == "text/html"
