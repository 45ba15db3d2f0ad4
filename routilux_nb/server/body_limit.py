"""Request body size limit: 413 ``PAYLOAD_TOO_LARGE`` past it, also while streaming."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .asgi import send_error

__all__ = ["BodySizeLimitMiddleware"]


class _TooLarge:
    """Receive wrapper that counts body bytes and answers 413 once the limit is passed."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self.receive, self.send, self.limit = receive, send, limit
        self.seen = 0
        self.rejected = False
        self.started = False

    async def wrapped_receive(self) -> Message:
        if self.rejected:
            return {"type": "http.disconnect"}
        message = await self.receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                self.rejected = True
                if not self.started:
                    self.started = True
                    await send_error(
                        self.send,
                        413,
                        "PAYLOAD_TOO_LARGE",
                        f"request body exceeds {self.limit} bytes",
                        {"max_bytes": self.limit},
                    )
                return {"type": "http.disconnect"}
        return message

    async def wrapped_send(self, message: Message) -> None:
        if self.rejected:
            return  # the 413 was sent; whatever the app answers to the cut body is dropped
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


class BodySizeLimitMiddleware:
    """Reject request bodies above ``max_bytes`` with 413 ``PAYLOAD_TOO_LARGE``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_error(send, 400, "INVALID_REQUEST", "invalid Content-Length header")
                    return
                if declared > self.max_bytes:
                    await send_error(
                        send,
                        413,
                        "PAYLOAD_TOO_LARGE",
                        f"request body exceeds {self.max_bytes} bytes",
                        {"max_bytes": self.max_bytes, "content_length": declared},
                    )
                    return
        guard = _TooLarge(receive, send, self.max_bytes)
        try:
            await self.app(scope, guard.wrapped_receive, guard.wrapped_send)
        except Exception:
            if not guard.rejected:
                raise
            # the app saw the cut body as a client disconnect; the 413 is already sent
