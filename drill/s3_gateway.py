"""A TCP forwarder in front of the local S3 server: `python -m drill.s3_gateway LISTEN TARGET`.

WAL-G talks to the S3 API through it. Stopping it is a storage outage as WAL-G sees
one (connections refused), while the S3 server behind it keeps its data, which an
in-memory server would lose if it were the one stopped. Started with `hang` instead of a
target, it is storage that accepts connections and never answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import sys

HANG = -1
"""Target port meaning: answer nothing."""


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(RuntimeError):
            writer.close()


async def _serve(listen_port: int, target_port: int, tls: ssl.SSLContext | None = None) -> None:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if target_port == HANG:
            # Storage that accepts connections and never answers: read, say nothing.
            while await client_reader.read(65536):
                pass
            client_writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port, reuse_address=True, ssl=tls)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    """LISTEN_PORT TARGET_PORT|hang [CERT KEY]: with a certificate, clients speak TLS to the
    gateway; with `hang` it accepts connections and never answers."""
    if len(argv) not in (2, 4):
        print("usage: python -m drill.s3_gateway LISTEN_PORT TARGET_PORT|hang [CERT KEY]", file=sys.stderr)
        return 2
    tls = None
    if len(argv) == 4:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(argv[2], argv[3])
    asyncio.run(_serve(int(argv[0]), HANG if argv[1] == "hang" else int(argv[1]), tls))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
