"""HEAD wherever GET is served: the GET answer's status and headers, without its body.

HTTP asks every server to answer HEAD where it answers GET (RFC 9110, section 9.3.2). Plain
Starlette routes do so by themselves; FastAPI's routes serve only the methods they declare,
and declaring HEAD beside GET would put a second operation under the same id in
``/openapi.json``. So a HEAD that the application refuses with 405 is asked again as GET, and
only the head of that answer is sent. Routes that declare HEAD (the dumps, which then skip
reading their file) answer it themselves, as before.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        refused = False

        async def unless_refused(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message["status"] == 405:
                refused = True
            if not refused:
                await send(message)

        await self.app(scope, receive, unless_refused)
        if not refused:
            return
        scope.get("state", {}).pop("error_code", None)  # the 405 is not what was answered

        async def no_body() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def head_only(message: Message) -> None:
            if message["type"] == "http.response.start":
                await send(message)  # its Content-Length is the GET body's, as HTTP wants
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(dict(scope, method="GET"), no_body, head_only)
