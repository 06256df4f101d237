"""pageInfo and permissionInfo for list responses, and the read-only lists of the directory."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from flask import Response, request
from marshmallow import Schema
from sqlalchemy import Connection

from app.api.auth import current
from app.api.representation import render, wants_json
from app.api.schemas import page_info_schema, permission_info_schema
from app.db import db, listing
from app.db.listing import Page

Reader = Callable[[Connection, Page, str | None, str | None], tuple[Sequence[Any], int, int]]
"""Reads one page of a list: (conn, page, q, sort) -> (rows, total, start)."""


def page_info(page: Page, total: int, start: int) -> dict[str, Any]:
    """Cisco's pageInfo, with absolute links that keep the caller's q and sort."""
    per_page = page.results_per_page
    kept = {k: v for k, v in request.args.items() if k in ("q", "sort")}

    def link(index: int) -> str:
        query = urlencode({**kept, "startIndex": index, "resultsPerPage": per_page})
        return f"{request.base_url}?{query}"

    last = ((total - 1) // per_page) * per_page if total else 0
    info: dict[str, Any] = {"firstPage": link(0)}
    if start > 0:
        info["prevPage"] = link(max(0, start - per_page))
    if start + per_page < total:
        info["nextPage"] = link(start + per_page)
    info.update(
        lastPage=link(last),
        resultsPerPage=per_page,
        startIndex=start,
        totalResults=total,
    )
    if request.args.get("q"):
        info["searchTerm"] = request.args["q"]
    if request.args.get("sort"):
        info["sortTerm"] = request.args["sort"]
    return info


def permission_info(role: str) -> dict[str, Any]:
    admin = role == "admin"
    return {"canCreate": admin, "canUpdate": admin, "canDelete": admin, "role": role}


def read_only_list(read: Reader, schema: Schema, wrapper: str) -> Response:
    """A list nobody can change through the API (the directory's): the page ``read`` finds for
    the request's startIndex, resultsPerPage, q and sort, dumped by ``schema`` (many) under
    ``wrapper``, with its pageInfo and a permissionInfo that allows nothing."""
    page = listing.parse_page(request.args.get("startIndex"), request.args.get("resultsPerPage"))
    with db.read() as conn:
        rows, total, start = read(conn, page, request.args.get("q"), request.args.get("sort"))
    permissions = permission_info(current().role)
    permissions.update(canCreate=False, canUpdate=False, canDelete=False)
    data = {
        "pageInfo": page_info_schema.dump(page_info(page, total, start)),
        "permissionInfo": permission_info_schema.dump(permissions),
        wrapper: schema.dump(rows),
    }
    return render(data, "results", json=wants_json(request))
