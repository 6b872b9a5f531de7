"""xAPI 1.0.3's alternate request syntax: a form POST with ?method= becomes the real request.

Browsers that cannot send custom headers or methods cross-origin POST
`application/x-www-form-urlencoded` with the headers and the body (`content`) as form fields.
This ASGI middleware rewrites such a request before routing, so every resource supports it.
xAPI 2.0 removed the syntax: a 2.0 request using it is rejected.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER_FIELDS = {
    "authorization",
    "x-experience-api-version",
    "content-type",
    "content-length",
    "if-match",
    "if-none-match",
}
METHODS = {"GET", "PUT", "POST", "DELETE"}


class AlternateRequestSyntax:
    def __init__(self, app: ASGIApp, base_path: str, max_body: int) -> None:
        self.app = app
        self.base_path = base_path
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or b"method=" not in scope.get("query_string", b""):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        if not any(name == "method" for name, _ in query):
            await self.app(scope, receive, send)
            return
        error = self._check(scope, query)
        if error is not None:
            await _reject(send, error)
            return
        body = await _read_all(receive)
        form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        headers: list[tuple[bytes, bytes]] = [
            (n, v) for n, v in scope["headers"] if n not in (b"content-type", b"content-length")
        ]
        params: list[tuple[str, str]] = []
        content = b""
        for name, value in form:
            lowered = name.lower()
            if lowered == "content":
                content = value.encode()
            elif lowered in HEADER_FIELDS:
                headers = [h for h in headers if h[0] != lowered.encode()]
                if lowered != "content-length":
                    headers.append((lowered.encode(), value.encode()))
            else:
                params.append((name, value))
        version = dict(headers).get(b"x-experience-api-version", b"")
        if version.startswith(b"2."):
            await _reject(send, "the alternate request syntax is not part of xAPI 2.0")
            return
        headers.append((b"content-length", str(len(content)).encode()))
        method = dict(query)["method"].upper()
        new_scope = dict(scope)
        new_scope["method"] = method
        new_scope["headers"] = headers
        new_scope["query_string"] = urlencode(params).encode()
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": content, "more_body": False}

        await self.app(new_scope, replay, send)

    def _check(self, scope: Scope, query: list[tuple[str, str]]) -> str | None:
        if scope["method"] != "POST":
            return "the alternate request syntax uses POST"
        if len(query) != 1:
            return "with the alternate request syntax, parameters go in the form body"
        if query[0][1].upper() not in METHODS:
            return f"method {query[0][1]!r} is not one of GET, PUT, POST, DELETE"
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        if not content_type.lower().startswith(b"application/x-www-form-urlencoded"):
            return (
                "the alternate request syntax needs Content-Type application/x-www-form-urlencoded"
            )
        return None


async def _read_all(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _reject(send: Send, message: str) -> None:
    body = orjson.dumps({"error": {"status": 400, "message": message}})
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
