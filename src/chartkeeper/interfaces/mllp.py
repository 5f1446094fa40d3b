"""The MLLP listener: HL7 v2 messages over TCP, each answered with its ACK.

This module owns framing and connections. MLLP (HL7 v2 Implementation Guide, Appendix C,
"Lower Layer Protocols", release 2) wraps every message as <VT 0x0B> message <FS 0x1C>
<CR 0x0D>. Each complete block goes through hl7v2.process_message (in a worker thread, as
it does database work) and its ACK goes back in the same framing; messages on one
connection are handled in order. Bytes that do not start with the start byte are not a
block: they are logged with the peer's address and the connection is closed, since the
sender is not speaking MLLP and any answer would be misread.

`serve_mllp(repo, host, port)` runs until cancelled (for the CLI); `MllpListener` can be
started on port 0 and stopped (for tests and embedding); `run_in_thread` runs one in a
background thread for blocking callers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator

from chartkeeper.interfaces.hl7v2 import process_message
from chartkeeper.store import Repository

logger = logging.getLogger(__name__)

START, END = b"\x0b", b"\x1c\x0d"
MAX_BLOCK = 16 * 1024 * 1024  # a block larger than this is a runaway sender, not a message


class MllpListener:
    """An asyncio MLLP server over a Repository."""

    def __init__(self, repo: Repository, host: str = "127.0.0.1", port: int = 2575):
        self.repo = repo
        self.host = host
        self.port = port
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task] = set()
        self._transports: set[asyncio.BaseTransport] = set()

    async def start(self) -> tuple[str, int]:
        """Listen; returns the bound address (the real port when asked for port 0)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Protocol(self), self.host, self.port)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.port = port
        logger.info("MLLP listening on %s:%d", host, port)
        return host, port

    async def stop(self) -> None:
        """Stop accepting, end open connections, and wait until they are gone."""
        if self._server is None:
            return
        self._server.close()
        # An accept in flight takes a few loop turns to become a transport; let it land.
        await asyncio.sleep(0.05)
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        # A connection accepted just now may not have reached _serve yet, so its task
        # cannot clean up: close what is still open at the transport.
        for transport in list(self._transports):
            transport.abort()
        while self._transports:
            await asyncio.sleep(0)
        await self._server.wait_closed()
        self._server = None
        logger.info("MLLP listener on port %d stopped", self.port)

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername")
        try:
            await self._exchange(reader, writer, peer)
        except asyncio.CancelledError:
            pass
        except ConnectionError as exc:
            logger.info("MLLP %s: connection lost: %s", peer, exc)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _exchange(self, reader, writer, peer) -> None:
        buffer = bytearray()
        while True:
            block = _take_block(buffer)
            if block is None:
                if buffer[:1] not in (b"", START):
                    logger.warning(
                        "MLLP %s: rejected %d bytes that do not begin with the start byte "
                        "0x0B (%r...); closing the connection",
                        peer,
                        len(buffer),
                        bytes(buffer[:40]),
                    )
                    return
                if len(buffer) > MAX_BLOCK:
                    logger.warning("MLLP %s: block over %d bytes; closing", peer, MAX_BLOCK)
                    return
                data = await reader.read(65536)
                if not data:
                    if buffer.strip():
                        logger.warning("MLLP %s: closed in the middle of a block", peer)
                    return
                buffer.extend(data)
                continue
            ack = await asyncio.to_thread(process_message, self.repo, block)
            logger.info("MLLP %s: %s %s -> %s", peer, ack.message_type, ack.control_id, ack.code)
            writer.write(START + ack.text.encode("utf-8") + END)
            await writer.drain()


class _Protocol(asyncio.StreamReaderProtocol):
    """Stream protocol that tells the listener about each connection as it is made."""

    def __init__(self, listener: MllpListener):
        super().__init__(asyncio.StreamReader(), listener._serve)
        self._listener = listener

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._listener._transports.add(transport)
        self._own_transport = transport
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._listener._transports.discard(self._own_transport)
        super().connection_lost(exc)


def _take_block(buffer: bytearray) -> bytes | None:
    """Remove and return the next complete block's content, or None when there is none
    yet (or the buffer does not start a block). Whitespace between blocks is ignored."""
    while buffer[:1] in (b"\r", b"\n", b" "):
        del buffer[:1]
    if buffer[:1] != START:
        return None
    end = buffer.find(END)
    if end < 0:
        return None
    block = bytes(buffer[1:end])
    del buffer[: end + len(END)]
    return block


async def serve_mllp(repo: Repository, host: str, port: int) -> None:
    """Listen on host:port until cancelled (Ctrl-C under asyncio.run)."""
    await MllpListener(repo, host, port).serve_forever()


class BackgroundListener:
    """An MllpListener running on its own event loop in a daemon thread."""

    def __init__(self, repo: Repository, host: str = "127.0.0.1", port: int = 0):
        self.listener = MllpListener(repo, host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.address: tuple[str, int] = (host, port)

    def start(self) -> tuple[str, int]:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self.listener.start(), self._loop)
        self.address = future.result(timeout=10)
        return self.address

    def stop(self, timeout: float = 10) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.listener.stop(), self._loop).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._loop.close()


@contextlib.contextmanager
def run_in_thread(
    repo: Repository, host: str = "127.0.0.1", port: int = 0
) -> Iterator[BackgroundListener]:
    """`with run_in_thread(repo) as running:` listen on running.address, stop on exit."""
    running = BackgroundListener(repo, host, port)
    running.start()
    try:
        yield running
    finally:
        running.stop()
