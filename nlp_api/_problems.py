"""RFC 9457 problem+json for every error the API answers."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from nlp_api._errors import NlpApiError

__all__ = ["install_problem_handlers", "problem"]


def problem(status: int, detail: str, *, title: str | None = None, **extra: Any) -> Response:
    body = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return Response(
        orjson.dumps(body, default=str), status_code=status, media_type="application/problem+json"
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NlpApiError)
    response = problem(exc.status, str(exc), title=exc.title)
    if exc.status == 503:
        response.headers["Retry-After"] = "1"
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return problem(422, "the request body does not match the schema; see errors", errors=errors)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code, str(exc.detail))


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(NlpApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
