"""JSON request bodies, read by a route itself once its cheap checks have passed.

A body parameter makes FastAPI read and parse the body into Python objects before
the route runs, so before the rate limit and the link check, and refused requests
were never counted. Measured on 8da4d82: an 8.4 MB body of ``[{},{},...]`` to
``POST /api/notes`` cost about 200 MiB of memory and 0.27 s of the event loop,
and ``{"content": "x", "junk": [0, 0, ...]}`` was accepted. Here a route calls
:func:`read_json` after its own checks, and the body:

* must be sent as ``Content-Type: application/json`` (415), which a cross-site
  form cannot send;
* may be at most the route's ``max_bytes`` (413, before it is read when its
  length is declared);
* must be a flat JSON object, checked on the bytes before any parse (422): every
  body of this API is one, and a flat object of a few members costs pydantic
  little however long its strings are, where a million small values cost it
  0.77 s and 460 MiB (pydantic-core builds the whole tree before validating);
* is then validated from the bytes by the route's model (extra fields forbidden).
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)

SMALL_BODY_BYTES = 4096
"""Enough for every body but a note's content: a name of 100 characters, escaped."""

MAX_MEMBERS = 16
"""Members of a body object; the largest model has one or two fields."""

MAX_OUTSIDE_STRINGS_BYTES = 4096
"""Bytes of a body outside its strings: braces, colons, commas, scalars, spaces."""

OUTSIDE_STRINGS = re.compile(rb"[\s{}:,a-zA-Z0-9.+-]*")
"""What may stand between the strings of a flat object (a letter or digit for
true, false, null and numbers; pydantic tells a misspelt one)."""

UNREAD_BODY = {"Connection": "close"}
"""Refused before its body is read: close, rather than let uvicorn read and drop the rest."""

NOT_AN_OBJECT = "the request body must be a JSON object of strings, numbers, booleans or nulls"


def request_body(model: type[BaseModel], *, required: bool) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads ``model`` with :func:`read_json`."""
    schema = {"schema": model.model_json_schema()}
    return {"requestBody": {"required": required, "content": {"application/json": schema}}}


async def read_json(
    request: Request,
    model: type[Model],
    max_bytes: int = SMALL_BODY_BYTES,
    *,
    max_strings: int = 2 * MAX_MEMBERS,
    lists: bool = False,
) -> Model:
    """The request's JSON body as ``model`` (an empty body reads as ``{}``).

    Raises:
        HTTPException: 415 for another content type, or none; 413 for a body over
            ``max_bytes``.
        RequestValidationError: the body is not a flat JSON object or not a valid ``model``.

    ``lists`` admits members that are lists of scalars (one level: a search's tokens),
    ``max_strings`` bounds the strings of the body, names and values.
    """
    if _media_type(request) != "application/json":
        detail = "send the body as JSON: Content-Type: application/json"
        raise HTTPException(415, detail=detail, headers=UNREAD_BODY)
    raw = await _read(request, max_bytes)
    if not raw.strip():
        return _validated(model, b"{}")
    problem = flat_object_problem(raw, max_strings=max_strings, lists=lists)
    if problem is not None:
        raise RequestValidationError([{"loc": ("body",), "msg": problem, "type": "value_error"}])
    return _validated(model, raw)


async def read_optional_json(
    request: Request, model: type[Model], max_bytes: int = SMALL_BODY_BYTES
) -> Model | None:
    """As :func:`read_json`, but None for a request with no body and no content type."""
    if not _media_type(request) and not _has_body(request):
        return None
    return await read_json(request, model, max_bytes)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length != "0")


async def _read(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes: int) -> HTTPException:
    detail = f"the request body is larger than this accepts ({max_bytes} bytes)"
    return HTTPException(413, detail=detail, headers=UNREAD_BODY)


def flat_object_problem(
    raw: bytes, *, max_strings: int = 2 * MAX_MEMBERS, lists: bool = False
) -> str | None:
    """Why ``raw`` is not a flat JSON object of scalars, or None if it may be one.

    With ``lists``, a member may also be a list of scalars (no list in a list).
    Only bytes operations that run in C over the whole body (8 MB: 20 to 45 ms);
    whether it is valid JSON is pydantic's to say.
    """
    cleaned = raw.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in raw else raw
    if cleaned.count(b'"') > 2 * max_strings:  # two quotes a string, names and values
        return f"{NOT_AN_OBJECT}, of at most {max_strings} strings"
    outside, start = [], 0
    while start >= 0:  # the spans between strings: even quotes open, odd quotes close
        end = cleaned.find(b'"', start)
        outside.append((start, len(cleaned) if end < 0 else end))
        start = -1 if end < 0 else cleaned.find(b'"', end + 1)
        start = -1 if start < 0 else start + 1
    if sum(end - begin for begin, end in outside) > MAX_OUTSIDE_STRINGS_BYTES:
        return NOT_AN_OBJECT
    between = b"".join(cleaned[begin:end] for begin, end in outside)
    if lists and not _lists_flat(between):
        return NOT_AN_OBJECT
    if lists:
        between = between.replace(b"[", b"").replace(b"]", b"")
    if not between.lstrip().startswith(b"{") or not OUTSIDE_STRINGS.fullmatch(between):
        return NOT_AN_OBJECT
    if between.count(b"{") > 1 or between.count(b"}") > 1:  # one missing: not valid JSON
        return NOT_AN_OBJECT
    return None


def _lists_flat(between: bytes) -> bool:
    """Every ``[`` closes before the next opens: lists of scalars only, at most 16."""
    brackets = bytes(byte for byte in between if byte in b"[]")
    return len(brackets) <= 2 * MAX_MEMBERS and brackets == b"[]" * (len(brackets) // 2)


def _validated(model: type[Model], raw: bytes) -> Model:
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_input=False)
        if any(problem["type"] == "json_invalid" for problem in problems):
            raise RequestValidationError([_not_json(raw)]) from None
        located = [{**problem, "loc": ("body", *problem["loc"])} for problem in problems]
        raise RequestValidationError(located) from None


def _not_json(raw: bytes) -> dict[str, Any]:
    message = "the request body is not valid JSON"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        message += ": it is not UTF-8"
    return {"loc": ("body",), "msg": message, "type": "value_error"}
