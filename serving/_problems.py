"""RFC 9457 problem+json for every error the serving app answers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from contracts import PROBLEM_CONTENT_TYPE, problem_body
from contracts.headers import RETRY_AFTER

from ._errors import ServingError

__all__ = ["install_problem_handlers", "problem"]

_log = logging.getLogger(__name__)


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem+json response with `contracts.problem_body`; without a `slug`, the type is
    named after the status (``...:not-found``)."""
    body = problem_body(status, detail, slug=slug, title=title, **extensions)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


async def _serving_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, ServingError):  # pragma: no cover - registered for ServingError only
        raise exc
    if exc.status >= 500:
        _log.warning("%s %s -> %d: %s", request.method, request.url.path, exc.status, exc)
    retry = {RETRY_AFTER: exc.retry_after} if exc.retry_after else None
    return problem(exc.status, exc.detail, slug=exc.slug, title=exc.title, headers=retry)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover
        raise exc
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return problem(
        422,
        "the request body does not match the schema; see errors",
        slug="invalid-request",
        title="Invalid request",
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, HTTPException):  # pragma: no cover
        raise exc
    return problem(exc.status_code, str(exc.detail), headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return problem(500, "unexpected server error; see the server log", slug="internal-error")


def install_problem_handlers(app: FastAPI) -> None:
    """Answer ServingError, request validation, routing and unexpected errors as problem+json."""
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(ServingError, _serving_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
