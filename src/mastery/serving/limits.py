"""Request body limit (413): checked on `Content-Length` before reading, and on the bytes
actually received for chunked bodies, so an oversized body is never read whole."""

from __future__ import annotations

import json
import math

from fastapi import HTTPException

from mastery.export.contract import Contract

BYTES_PER_VALUE = 32  # "0.12345678901234567, " with room to spare
SLACK = 64 * 1024


def default_body_limit(contract: Contract, max_batch: int, raw=None) -> int:
    """Enough for `max_batch` examples of every input written as long decimals (or of the raw
    input the server takes instead, as it says)."""
    if raw is not None:
        return raw.max_bytes(max_batch)
    values = sum(math.prod(map(spec.smallest, spec.sample_shape)) for spec in contract.inputs)
    return max_batch * values * BYTES_PER_VALUE + SLACK


class BodyLimit:
    """Pure ASGI middleware: answers 413 naming the limit."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send, f"body of {int(declared)} bytes")
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:  # FastAPI passes an HTTPException from body reading on as is
                raise HTTPException(413, self._detail(f"body of at least {received} bytes"))
            return message

        await self.app(scope, counted, send)

    def _detail(self, what: str) -> str:
        return f"{what} is over the limit of {self.max_bytes} bytes; send fewer examples per request"

    async def _refuse(self, send, what: str) -> None:
        body = json.dumps({"detail": self._detail(what)}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
