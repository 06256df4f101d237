"""pageInfo and permissionInfo for list responses."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import request

from app.db.listing import Page


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
