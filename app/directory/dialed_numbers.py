"""Reading dialed numbers (GET /dialednumber; docs/directory.md): each with its routing type,
call type, media routing domain and department. A dialed number has no name: it is found by its
string or description and sorted by its string (ignoring case). Its routing type is shown as
the number (the names: ``dialed_number_job.ROUTING_TYPES``)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select

from app.db import listing
from app.db.models import CallType, Department, DialedNumber, MediaRoutingDomain, table
from app.directory import named

dialed_numbers = table(DialedNumber)
call_types = table(CallType)
domains = table(MediaRoutingDomain)
departments = table(Department)


def _plain(term: str) -> ColumnElement[bool]:
    """A plain search term: in the dialed number string or the description, ignoring case."""
    return or_(
        listing.contains(dialed_numbers.c.dialed_number_string, term),
        listing.contains(dialed_numbers.c.description, term),
    )


DIALED_NUMBERS = named.Kind(
    "Dialed number",
    select(
        dialed_numbers,
        call_types.c.name.label("call_type_name"),
        domains.c.name.label("media_routing_domain_name"),
        departments.c.name.label("department_name"),
    )
    .outerjoin(call_types, call_types.c.id == dialed_numbers.c.call_type_id)
    .join(domains, domains.c.id == dialed_numbers.c.media_routing_domain_id)
    .outerjoin(departments, departments.c.id == dialed_numbers.c.department_id),
    listing.Search(
        dialed_numbers,
        {
            "routingType": lambda v: (
                dialed_numbers.c.routing_type == listing.parse_int("routingType", v)
            ),
            "callTypeId": lambda v: (
                dialed_numbers.c.call_type_id == listing.parse_int("callTypeId", v)
            ),
            "mediaRoutingDomainId": lambda v: (
                dialed_numbers.c.media_routing_domain_id
                == listing.parse_int("mediaRoutingDomainId", v)
            ),
        },
        _plain,
        {
            "dialedNumberString": dialed_numbers.c.string_key,
            "routingType": dialed_numbers.c.routing_type,
            "changeStamp": dialed_numbers.c.change_stamp,
        },
    ),
)
