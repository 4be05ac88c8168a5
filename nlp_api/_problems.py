"""RFC 9457 problem+json for every error the API answers, in the contract's form
(`contracts.problem_body`: `type` is `urn:nlpfeat:problem:<slug>`)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from contracts import PROBLEM_CONTENT_TYPE, headers, problem_body
from nlp_api._errors import NlpApiError

__all__ = ["RETRY_AFTER_S", "error_problem", "install_problem_handlers", "problem"]

RETRY_AFTER_S = 1


def problem(
    status: int, detail: str, *, slug: str | None = None, title: str | None = None, **extra: Any
) -> Response:
    """The problem+json response; `slug` defaults from the status (404 `not-found`...)."""
    body = problem_body(status, detail, slug=slug, title=title, **extra)
    return Response(
        orjson.dumps(body, default=str), status_code=status, media_type=PROBLEM_CONTENT_TYPE
    )


def error_problem(exc: NlpApiError) -> Response:
    """The problem for one of our errors: its status, slug and title; 503 says when to retry."""
    response = problem(exc.status, str(exc), slug=exc.slug, title=exc.title)
    if exc.status == 503:
        response.headers[headers.RETRY_AFTER] = str(RETRY_AFTER_S)
    return response


async def _api_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, NlpApiError):  # registered for NlpApiError only
        raise exc
    return error_problem(exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):
        raise exc
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return problem(
        422,
        "the request body does not match the schema; see errors",
        slug="validation-error",
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        raise exc
    return problem(exc.status_code, str(exc.detail))


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(NlpApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
