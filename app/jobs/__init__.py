"""Bulk jobs: submission (check, store, dispatch), the engine, the queue, the sweeper, maintenance
windows, downloads and failed rows; job types under ``app.jobs.types``."""
