"""The bare Flask endpoint polling is judged against: one JSON route, nothing else (no auth, no
database). Served by gunicorn with the same settings as the service in the same run."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)

BODY = {
    "refURL": "/unifiedconfig/config/bulkjob/1",
    "changeStamp": 3,
    "description": "bench",
    "jobType": 5,
    "jobState": 4,
    "processedRecords": 1000,
    "succeededRecords": 1000,
    "failedRecords": 0,
}


@app.get("/unifiedconfig/config/bulkjob/<int:job_id>")
def job(job_id: int) -> dict[str, object]:
    return {**BODY, "refURL": f"/unifiedconfig/config/bulkjob/{job_id}"}
