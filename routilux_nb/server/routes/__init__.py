"""The REST routes, gathered in one router that the app mounts at ``/api/v1`` and ``/api``."""

from __future__ import annotations

from fastapi import APIRouter

from . import artifacts, breakpoints, debug, flows, job_control, jobs, steps, versions, workers

__all__ = ["api_router"]

api_router = APIRouter()
for _module in (jobs, job_control, debug, breakpoints, workers, flows, versions, artifacts, steps):
    api_router.include_router(_module.router)
