"""The schemas: dumped field names and order, and what request bodies load or are refused with."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask, request
from marshmallow import Schema

from app import exceptions as errors
from app.api.directory_schemas import AgentSchema
from app.api.representation import parse_body
from app.api.schemas import (
    BulkJobCreateSchema,
    BulkJobSchema,
    BulkJobUpdateSchema,
    PageInfoSchema,
    PermissionInfoSchema,
    ValidationFailed,
    bulk_job_schema,
    bulk_job_update_schema,
    bulk_jobs_schema,
    load_body,
)

JOB = SimpleNamespace(
    id=7,
    change_stamp=0,
    description="",
    job_type=5,
    job_state=1,
    job_host_name="web-1",
    create_ms=1700000000000,
    start_ms=None,
    end_ms=None,
    total_records=3,
    processed_records=0,
    succeeded_records=0,
    failed_records=0,
    created_by="admin",  # not part of the representation
)

# Everything a GET returns that a client cannot set.
READ_ONLY = {
    "refURL": "/unifiedconfig/config/bulkjob/7",
    "jobHostName": "web-1",
    "createDateTime": "1700000000000",
    "startDateTime": "1700000000001",
    "endDateTime": "1700000000002",
    "logFile": {"refURL": "/unifiedconfig/config/bulkjob/7/log"},
    "csvFile": {"refURL": "/unifiedconfig/config/bulkjob/7/csv"},
    "totalRecords": 3,
    "processedRecords": "3",
    "succeededRecords": 2,
    "failedRecords": 1,
}


def _refusal(schema: Schema, data: Any) -> errors.ServiceError:
    with pytest.raises(errors.ServiceError) as caught:
        load_body(schema, data)
    return caught.value


# --- dumping ---------------------------------------------------------------------------------


def test_bulkjob_fields_in_order_from_an_object() -> None:
    assert list(BulkJobSchema().dump(JOB).items()) == [
        ("refURL", "/unifiedconfig/config/bulkjob/7"),
        ("changeStamp", 0),
        ("description", ""),
        ("jobType", 5),
        ("jobState", 1),
        ("jobHostName", "web-1"),
        ("createDateTime", 1700000000000),
        ("logFile", {"refURL": "/unifiedconfig/config/bulkjob/7/log"}),
        ("csvFile", {"refURL": "/unifiedconfig/config/bulkjob/7/csv"}),
        ("totalRecords", 3),
        ("processedRecords", 0),
        ("succeededRecords", 0),
        ("failedRecords", 0),
    ]


def test_shared_instances_dump_and_load_repeatedly() -> None:
    first = bulk_jobs_schema.dump([JOB, JOB])
    assert bulk_jobs_schema.dump([JOB, JOB]) == first
    assert bulk_job_schema.dump(JOB) == first[0]
    assert load_body(bulk_job_update_schema, {"changeStamp": "1"}) == {"changeStamp": 1}
    with pytest.raises(errors.FieldRequired):
        load_body(bulk_job_update_schema, {})
    assert load_body(bulk_job_update_schema, {"changeStamp": 2}) == {"changeStamp": 2}


def test_bulkjob_from_a_mapping_with_times() -> None:
    finished = {**vars(JOB), "start_ms": 1700000000100, "end_ms": 1700000000200}
    dumped = BulkJobSchema().dump(finished)
    assert list(dumped)[6:9] == ["createDateTime", "startDateTime", "endDateTime"]
    assert dumped["endDateTime"] == 1700000000200
    assert BulkJobSchema(many=True).dump([finished, vars(JOB)])[1]["refURL"].endswith("/7")


def _agent(**changes: Any) -> SimpleNamespace:
    values = {
        "id": 5001,
        "agent_id": "1001",
        "peripheral_id": 5000,
        "peripheral_name": "CUCM_PG_1",
        "agent_team_id": 12,
        "agent_team_name": "Sales",
        "first_name": "Ann",
        "last_name": "Smith",
        "user_name": "asmith",
        "login_enabled": True,
        "sso_enabled": 0,
        "supervisor": False,
        "description": "",
        "change_stamp": 3,
    }
    return SimpleNamespace(**{**values, **changes})


def test_agent() -> None:
    assert AgentSchema().dump(_agent()) == {
        "agentId": "1001",
        "peripheral": {
            "id": 5000,
            "name": "CUCM_PG_1",
            "refURL": "/unifiedconfig/config/peripheral/5000",
        },
        "agentTeam": {"id": 12, "name": "Sales", "refURL": "/unifiedconfig/config/agentteam/12"},
        "person": {
            "firstName": "Ann",
            "lastName": "Smith",
            "userName": "asmith",
            "loginEnabled": True,
            "ssoEnabled": False,
        },
        "supervisor": False,
        "description": "",
        "changeStamp": 3,
        "refURL": "/unifiedconfig/config/agent/5001",
    }


def test_agent_without_a_team() -> None:
    dumped = AgentSchema().dump(_agent(agent_team_id=None, agent_team_name=None))
    assert "agentTeam" not in dumped
    assert list(dumped)[:3] == ["agentId", "peripheral", "person"]


def test_page_and_permission_info() -> None:
    info = {
        "firstPage": "f",
        "prevPage": None,
        "lastPage": "l",
        "resultsPerPage": 25,
        "startIndex": 0,
        "totalResults": 0,
        "sortTerm": "jobState desc",
    }
    assert PageInfoSchema().dump(info) == {
        "firstPage": "f",
        "lastPage": "l",
        "resultsPerPage": 25,
        "startIndex": 0,
        "totalResults": 0,
        "sortTerm": "jobState desc",
    }
    permissions = {"role": "viewer", "canDelete": False, "canCreate": False, "canUpdate": False}
    assert list(PermissionInfoSchema().dump(permissions).items()) == [
        ("canCreate", False),
        ("canUpdate", False),
        ("canDelete", False),
        ("role", "viewer"),
    ]


# --- loading a create ------------------------------------------------------------------------


def test_create_loads_and_drops_read_only_fields() -> None:
    body = {
        "fileContent": "userName\nasmith\n",
        "description": "d",
        "jobType": 5,
        "changeStamp": "0",
        "jobState": "1",
        **READ_ONLY,
    }
    assert load_body(BulkJobCreateSchema(), body) == {
        "fileContent": "userName\nasmith\n",
        "description": "d",
        "jobType": 5,
    }


@pytest.mark.parametrize("job_type", [5, "5", " 5 ", 5.0, "+5"])
def test_job_type_from_json_or_xml(job_type: Any) -> None:
    loaded = load_body(BulkJobCreateSchema(), {"fileContent": "x", "jobType": job_type})
    assert loaded["jobType"] == 5
    assert type(loaded["jobType"]) is int


def test_optional_fields_may_be_left_out_or_null() -> None:
    assert load_body(BulkJobCreateSchema(), {"fileContent": "x"}) == {"fileContent": "x"}
    assert load_body(
        BulkJobCreateSchema(), {"fileContent": "x", "description": None, "jobType": None}
    ) == {"fileContent": "x", "description": None, "jobType": None}


def test_unknown_field_is_refused_by_name() -> None:
    error = _refusal(BulkJobCreateSchema(), {"fileContent": "x", "colour": "red"})
    assert type(error) is errors.InvalidInput
    assert (error.error_type, error.error_data, error.message) == (
        "invalidInput.invalidValue",
        "colour",
        "Unknown field: colour",
    )


def test_an_absurdly_long_unknown_name_is_clipped_in_error_data() -> None:
    error = _refusal(BulkJobCreateSchema(), {"fileContent": "x", "y" * 5000: 1})
    assert len(error.error_data) == 100


@pytest.mark.parametrize("schema", [BulkJobCreateSchema(), BulkJobUpdateSchema()])
def test_description_of_256_characters_is_too_long(schema: Schema) -> None:
    body = {"fileContent": "x", "changeStamp": 0}
    body = {k: v for k, v in body.items() if k in schema.fields}
    assert load_body(schema, {**body, "description": "d" * 255})["description"] == "d" * 255
    error = _refusal(schema, {**body, "description": "d" * 256})
    assert type(error) is errors.FieldTooLong
    assert error.error_type == "invalidInput.fieldLengthExceeded"
    assert error.error_data == "description"
    assert error.message == "description must be at most 255 characters"


@pytest.mark.parametrize("body", [{}, {"fileContent": ""}, {"fileContent": None}])
def test_missing_file_content_is_required(body: dict[str, Any]) -> None:
    error = _refusal(BulkJobCreateSchema(), {**body, "description": "d"})
    assert type(error) is errors.FieldRequired
    assert (error.error_type, error.error_data, error.message) == (
        "invalidInput.fieldRequired",
        "fileContent",
        "fileContent is required",
    )


@pytest.mark.parametrize(
    ("body", "error_class", "error_data", "message"),
    [
        ({"jobType": "five"}, errors.InvalidInput, "jobType", "jobType must be a whole number"),
        ({"jobType": 5.5}, errors.InvalidInput, "jobType", "jobType must be a whole number"),
        ({"jobType": "5.0"}, errors.InvalidInput, "jobType", "jobType must be a whole number"),
        ({"jobType": "1_0"}, errors.InvalidInput, "jobType", "jobType must be a whole number"),
        ({"jobType": True}, errors.InvalidInput, "jobType", "jobType must be a whole number"),
        ({"jobType": ""}, errors.InvalidInput, "jobType", "jobType must be a whole number"),
        ({"jobType": {"x": "1"}}, errors.InvalidInput, "jobType", "jobType must be a whole number"),
        ({"jobType": -1}, errors.OutOfRange, "jobType", "jobType must be between 0 and 2147483647"),
        (
            {"jobType": 2**31},
            errors.OutOfRange,
            "jobType",
            "jobType must be between 0 and 2147483647",
        ),
        ({"jobType": "9" * 5000}, errors.OutOfRange, "jobType", None),
        ({"jobType": 1e300}, errors.OutOfRange, "jobType", None),
        ({"fileContent": 12}, errors.InvalidInput, "fileContent", "fileContent must be text"),
        ({"description": ["a"]}, errors.InvalidInput, "description", "description must be text"),
        (
            {"description": "bell\x07"},
            errors.InvalidInput,
            "description",
            "description contains control characters that are not allowed",
        ),
    ],
)
def test_wrong_values(
    body: dict[str, Any], error_class: type, error_data: str, message: str | None
) -> None:
    error = _refusal(BulkJobCreateSchema(), {"fileContent": "x", **body})
    assert type(error) is error_class
    assert error.error_type == error_class.error_type
    assert error.error_data == error_data
    if message is not None:
        assert error.message == message


@pytest.mark.parametrize("data", [[{"fileContent": "x"}], "fileContent", None])
def test_a_body_that_is_not_an_object(data: Any) -> None:
    error = _refusal(BulkJobCreateSchema(), data)
    assert type(error) is errors.InvalidInput
    assert error.error_data == "body"


def test_several_problems_are_all_reported_first_one_leading() -> None:
    body = {"description": "d" * 300, "jobType": "x", "colour": "red"}
    error = _refusal(BulkJobCreateSchema(), body)
    assert isinstance(error, ValidationFailed)
    assert isinstance(error, errors.InvalidInput)
    assert error.items == [
        ("invalidInput.fieldRequired", "fileContent", "fileContent is required"),
        (
            "invalidInput.fieldLengthExceeded",
            "description",
            "description must be at most 255 characters",
        ),
        ("invalidInput.invalidValue", "jobType", "jobType must be a whole number"),
        ("invalidInput.invalidValue", "colour", "Unknown field: colour"),
    ]
    assert error.errors == error.items
    assert (error.error_type, error.error_data, error.message) == error.items[0]


# --- loading an update -----------------------------------------------------------------------


def test_update_loads_a_get_body_put_back() -> None:
    body = {**READ_ONLY, "changeStamp": "2", "description": "new", "jobType": "5", "jobState": "5"}
    assert load_body(BulkJobUpdateSchema(), body) == {
        "changeStamp": 2,
        "description": "new",
        "jobState": 5,
    }


def test_update_needs_the_change_stamp() -> None:
    error = _refusal(BulkJobUpdateSchema(), {"description": "new"})
    assert type(error) is errors.FieldRequired
    assert (error.error_data, error.message) == ("changeStamp", "changeStamp is required")


def test_update_refuses_file_content() -> None:
    error = _refusal(BulkJobUpdateSchema(), {"changeStamp": 0, "fileContent": "x"})
    assert error.message == "Unknown field: fileContent"


# --- from the wire -----------------------------------------------------------------------------


def test_xml_and_json_bodies_load_the_same() -> None:
    app = Flask(__name__)
    xml = (
        "<bulkJob><fileContent>userName\nasmith\n</fileContent><description>d</description>"
        "<jobType>5</jobType><refURL>/x</refURL><logFile><refURL>/x/log</refURL></logFile>"
        "</bulkJob>"
    )
    as_json = {"fileContent": "userName\nasmith\n", "description": "d", "jobType": 5}
    loaded = []
    for data, content_type in ((xml, "application/xml"), (None, "application/json")):
        kwargs: dict[str, Any] = {"data": data} if data else {"json": {**as_json, "refURL": "/x"}}
        with app.test_request_context(method="POST", content_type=content_type, **kwargs):
            loaded.append(load_body(BulkJobCreateSchema(), parse_body(request, "bulkJob")))
    assert loaded[0] == loaded[1] == as_json
