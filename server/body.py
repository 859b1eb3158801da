"""Reading a request body safely: a size bound that does not trust Content-Length, and gzip
decompression that stops as soon as the bound is passed (a bomb is never expanded in full)."""

from __future__ import annotations

import json
import zlib
from typing import IO, Any, NamedTuple, NoReturn

from flask import current_app, g, request
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import ClientDisconnected, HTTPException

CHUNK = 64 * 1024
GZIP_WBITS = 16 + zlib.MAX_WBITS  # gzip header and trailer, not raw deflate or zlib


class ApiError(HTTPException):
    """An HTTP error with a machine-readable ``error_code``, rendered as JSON by the app."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(description=message)
        self.code = status
        self.error_code = error_code


class Body(NamedTuple):
    """A request body as decoded, and how many bytes arrived on the wire for it."""

    data: bytes
    received: int


def fail(status: int, error_code: str, message: str) -> NoReturn:
    raise ApiError(status, error_code, message)


def too_large(limit: int) -> NoReturn:
    fail(413, "payload_too_large", f"the request body is larger than {limit} bytes")


def read_chunk(stream: IO[bytes], size: int) -> bytes:
    """One read; 408 when the server's read deadline passed (werkzeug wraps that as a disconnect), 400
    when gunicorn finds the chunked body malformed (a bad chunk size or terminator)."""
    try:
        data = stream.read(size)
        g.received_bytes = g.get("received_bytes", 0) + len(data)  # what the access log says came in
        return data
    except TimeoutError:
        pass
    except ParseException as err:
        fail(400, "invalid_chunked_body", f"the chunked request body is malformed: {err}")
    except ClientDisconnected as err:
        if isinstance(err.__context__, ParseException):
            fail(400, "invalid_chunked_body", f"the chunked request body is malformed: {err.__context__}")
        if not isinstance(err.__context__, TimeoutError):
            raise
    fail(408, "request_timeout", "the request body did not arrive in time")


def read_limited(stream: IO[bytes], limit: int) -> bytes:
    """Read ``stream`` to its end, failing with 413 once more than ``limit`` bytes arrive."""
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = read_chunk(stream, min(CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > limit:
            too_large(limit)
        parts.append(chunk)


def gunzip_limited(stream: IO[bytes], limit: int) -> Body:
    """Decompress a gzip stream (one or more members), failing with 413 once the output
    passes ``limit`` bytes or the compressed input does; 400 if it is not valid gzip."""
    out: list[bytes] = []
    out_size = in_size = 0
    inflater = zlib.decompressobj(GZIP_WBITS)
    pending = b""
    while True:
        if not pending:
            pending = read_chunk(stream, CHUNK)
            in_size += len(pending)
            if in_size > limit:
                too_large(limit)
            if not pending:
                break
        if inflater.eof:  # another gzip member follows the one just finished
            inflater = zlib.decompressobj(GZIP_WBITS)
        try:
            data = inflater.decompress(pending, limit + 1 - out_size)
        except zlib.error:
            fail(400, "invalid_gzip", "the request body is not valid gzip data")
        out_size += len(data)
        if out_size > limit:
            too_large(limit)
        out.append(data)
        pending = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
    if not inflater.eof or in_size == 0:
        fail(400, "invalid_gzip", "the gzip request body is truncated or empty")
    return Body(b"".join(out), in_size)


def read_body(stream: IO[bytes], content_length: int | None, encoding: str, limit: int) -> Body:
    """The decoded request body, at most ``limit`` bytes; ``encoding`` is Content-Encoding."""
    coding = encoding.strip().lower()
    if coding not in ("", "identity", "gzip", "x-gzip"):
        fail(415, "unsupported_encoding", "Content-Encoding must be gzip or absent")
    if content_length is not None and content_length > limit:
        too_large(limit)  # refuse early; the reads below enforce the bound either way
    if coding in ("gzip", "x-gzip"):
        body = gunzip_limited(stream, limit)
    else:
        data = read_limited(stream, limit)
        body = Body(data, len(data))
    if content_length is not None and body.received < content_length:
        # The client stopped sending early (and shut its side): a part of a page is not the page.
        fail(
            400,
            "incomplete_body",
            f"the request body ended after {body.received} of the {content_length} bytes announced",
        )
    return body


def json_request_body() -> Body:
    """The current request's body, which must be JSON: bounded by MAX_BYTES and decompressed."""
    if request.mimetype != "application/json":
        fail(415, "unsupported_media_type", "Content-Type must be application/json")
    # gunicorn takes a compressing transfer coding ("gzip, chunked") and undoes the chunks alone.
    codings = {coding.strip() for coding in request.headers.get("Transfer-Encoding", "").lower().split(",")}
    if not codings <= {"", "chunked", "identity"}:
        fail(
            501,
            "unsupported_transfer_coding",
            "Transfer-Encoding must be chunked or absent (send gzip as Content-Encoding: gzip)",
        )
    return read_body(
        request.stream,
        request.content_length,
        request.headers.get("Content-Encoding", ""),
        current_app.config["MAX_BYTES"],
    )


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """Decode a JSON body (UTF-8, -16 or -32); 400 ``invalid_json`` for anything else."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        fail(400, "invalid_json", "the request body is not valid JSON")
