"""A StreamingResponse that always closes its body iterator.

Starlette stops iterating when the client disconnects (it cancels the sending task) but
leaves an async generator suspended at its ``yield`` until garbage collection finalizes it.
A generator holding a database connection must give it back at once, so this response
closes its iterator as soon as the response ends, however it ends.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class ClosingStreamingResponse(StreamingResponse):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()


class StartedStream:
    """A body iterator already run to its first chunk.

    Whatever a stream does before its first chunk (take a pooled connection, open its
    snapshot) can fail; done here, in the endpoint, such a failure still answers with a
    proper status (503) instead of a 200 followed by a cut-off body.
    """

    def __init__(self, inner: AsyncGenerator[bytes, None], first: bytes | None) -> None:
        self._inner = inner
        self._first = first

    @classmethod
    async def start(cls, inner: AsyncGenerator[bytes, None]) -> StartedStream:
        try:
            first = await anext(inner)
        except StopAsyncIteration:
            return cls(inner, None)
        except BaseException:
            await inner.aclose()
            raise
        return cls(inner, first)

    def __aiter__(self) -> StartedStream:
        return self

    async def __anext__(self) -> bytes:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        return await anext(self._inner)

    async def aclose(self) -> None:
        await self._inner.aclose()
