"""A StreamingResponse that always closes its body iterator.

Starlette stops iterating when the client disconnects (it cancels the sending task) but
leaves an async generator suspended at its ``yield`` until garbage collection finalizes it.
A generator holding a database connection must give it back at once, so this response
closes its iterator as soon as the response ends, however it ends.
"""

from __future__ import annotations

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
