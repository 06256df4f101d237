"""Polls answered before Flask: ``GET /bulkjob/<id>`` with a live bearer token.

Scripts poll a job again and again. A poll is one statement to the database (the token's check
and the job's row, docs/performance.md, "One round trip a poll") and, for a job that has not
changed, a body already rendered; Flask's request context, URL matching and response object
cost more than all of that. So a poll that will succeed is answered here, with the bytes and
headers Flask would send, and everything else goes on to Flask untouched: another path or
method, a query string, HTTP Basic, a token that is not live (counted and throttled there), a
role that may not read jobs, a job that does not exist, a database that does not answer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import exc

from app.accounts import users
from app.accounts.roles import READ_JOBS
from app.api.bulkjobs import job_body
from app.api.representation import JSON_MIMETYPE, XML_CONTENT_TYPE, prefers_json
from app.db import db
from app.http import MAX_ID, NOTHING_POLICY, SECURITY_HEADERS, log_access
from app.jobs import store
from app.urls import API_BASE

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# The job's id as Flask's <id:job_id> reads it, written as a number is written (a leading zero,
# a sign or an id over MAX_ID goes on to Flask), with or without the trailing slash.
_PATH = re.compile(re.escape(API_BASE) + r"/bulkjob/([1-9][0-9]{0,9})/?")
# After the body's own, the headers every response gets (app/http.py, security_headers).
_SECURITY = [("Content-Security-Policy", NOTHING_POLICY), *SECURITY_HEADERS.items()]


def poll_path(app: WSGIApplication, log_requests: bool) -> WSGIApplication:
    """``app`` with polls that will succeed answered before it; ``log_requests``: write each
    one's access log line, as ``BULKJOB_LOG_FORMAT=json`` asks of every request."""

    def serve(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        found = None
        if environ["REQUEST_METHOD"] == "GET" and not environ.get("QUERY_STRING"):
            found = _PATH.fullmatch(environ.get("PATH_INFO", ""))
        if found is None:
            return app(environ, start_response)
        started = time.perf_counter()
        job_id = int(found.group(1))
        answer = _poll(environ, job_id) if job_id <= MAX_ID else None
        if answer is None:
            return app(environ, start_response)
        body, media_type, user = answer
        start_response(
            "200 OK",
            [("Content-Type", media_type), ("Content-Length", str(len(body))), *_SECURITY],
        )
        if log_requests:
            log_access("GET", environ["PATH_INFO"], 200, started, user, job_id)
        return [body]

    return serve


def _poll(environ: WSGIEnvironment, job_id: int) -> tuple[bytes, str, str] | None:
    """The poll's body, its media type and the caller's name; None: Flask answers it."""
    try:
        principal, (job,) = users.bearer_owner(
            db.engine, environ.get("HTTP_AUTHORIZATION", ""), store.poll_read(job_id)
        )
    except exc.SQLAlchemyError:
        return None  # Flask asks again, and answers 503 if the database is down
    if principal is None or principal.role not in READ_JOBS or job is None:
        return None
    json = prefers_json(environ.get("HTTP_ACCEPT", ""))
    body = job_body(tuple(job.items()), json)
    return body, JSON_MIMETYPE if json else XML_CONTENT_TYPE, principal.username
