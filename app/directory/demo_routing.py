"""The demo directory's call types and dialed numbers (docs/directory.md): a handful, the same
every time, so that the read API and the console's Directory show some. They do not depend on
the seed or the number of agents."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from app.db.models import CallType, DialedNumber, table
from app.db.sql import ids_after_explicit, insert_rows

FIRST_CALL_TYPE_ID = 5600
FIRST_DIALED_NUMBER_ID = 5700
EXTERNAL_VOICE, INTERNAL_VOICE, OUTBOUND, POST_CALL_SURVEY = 1, 2, 3, 7
# Each with its own string keys (the schema's): unique per routing type, and External Voice
# and Post Call Survey share one.
VOICE_KEYED = (EXTERNAL_VOICE, POST_CALL_SURVEY)

call_types = table(CallType)
dialed_numbers = table(DialedNumber)

CALL_TYPES = (
    # name, description, service level threshold (s), service level type, department's area
    ("Sales_CT", "Sales calls", 20, 1, "Sales"),
    ("Support_CT", "Support calls", 30, 2, "Support"),
    ("Billing_CT", "Billing questions", None, None, None),
    ("Retention_CT", "Customers about to leave", 20, 2, None),
    ("VIP_CT", "The VIP line", 10, 3, None),
    ("Survey_CT", "Post-call surveys", None, None, None),
)
_CALL_TYPE_ID = {name: FIRST_CALL_TYPE_ID + i for i, (name, *_rest) in enumerate(CALL_TYPES)}
DIALED_NUMBERS = (
    # string, routing type, call type (None: none), description
    ("8005550100", EXTERNAL_VOICE, "Sales_CT", "Sales, toll-free"),
    ("8005550101", EXTERNAL_VOICE, "Support_CT", "Support, toll-free"),
    ("8005550102", EXTERNAL_VOICE, "Billing_CT", "Billing, toll-free"),
    ("8005550103", EXTERNAL_VOICE, "Retention_CT", "Cancellations"),
    ("8005550104", EXTERNAL_VOICE, "VIP_CT", "The VIP line"),
    ("5100", INTERNAL_VOICE, "Sales_CT", "Sales, transfers"),
    ("5101", INTERNAL_VOICE, "Support_CT", "Support, transfers"),
    ("8005550199", POST_CALL_SURVEY, "Survey_CT", "The survey after a call"),
    ("9000", OUTBOUND, None, "Outbound campaigns"),
)


def load_routing(
    conn: Connection, media_routing_domain_id: int, department: Callable[[str], int | None]
) -> dict[str, int]:
    """Insert the demo's call types (``department``: a team area's department id) and dialed
    numbers (all on ``media_routing_domain_id``) into tables that hold none; how many of each."""
    insert_rows(
        conn,
        "call_types",
        (
            "id",
            "name",
            "name_key",
            "description",
            "change_stamp",
            "service_level_threshold",
            "service_level_type",
            "department_id",
        ),
        [
            (
                _CALL_TYPE_ID[name],
                name,
                name.lower(),
                description,
                0,
                threshold,
                kind,
                None if area is None else department(area),
            )
            for name, description, threshold, kind, area in CALL_TYPES
        ],
    )
    insert_rows(
        conn,
        "dialed_numbers",
        (
            "id",
            "dialed_number_string",
            "string_key",
            "routing_type",
            "voice_key",
            "description",
            "change_stamp",
            "call_type_id",
            "media_routing_domain_id",
        ),
        [
            (
                FIRST_DIALED_NUMBER_ID + i,
                string,
                string.lower(),
                routing_type,
                string.lower() if routing_type in VOICE_KEYED else None,
                description,
                0,
                None if call_type is None else _CALL_TYPE_ID[call_type],
                media_routing_domain_id,
            )
            for i, (string, routing_type, call_type, description) in enumerate(DIALED_NUMBERS)
        ],
    )
    for explicit in (call_types, dialed_numbers):
        ids_after_explicit(conn, explicit)
    return {"call_types": len(CALL_TYPES), "dialed_numbers": len(DIALED_NUMBERS)}
