"""URL converters shared by the API and the console."""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1  # ids are 32-bit integer columns


class IdConverter(IntegerConverter):
    """``<id:name>``: a non-negative id that fits its column; anything larger is a 404, not a
    database overflow (found by schemathesis: /agent/93037941403912339456 was a 500)."""

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=0)

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        if number > MAX_ID:
            # Not a ValidationError: werkzeug would then answer 405 for the path's other methods.
            raise NotFound(f"No resource has the id {value}")
        return number


def init_app(url_map: Map) -> None:
    url_map.converters["id"] = IdConverter
