"""What the WebSocket benchmarks share: server processes on free ports, a small client.

The client speaks RFC 6455 itself over asyncio streams, so that a socket costs
the benchmark a few hundred bytes and 10,000 fit in one process: text frames go
to an inbox with their arrival time, pings are answered, and no
permessage-deflate is offered.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

ROOT = Path(__file__).resolve().parents[1]
COMPANION = Path(sys.executable).with_name("companion")


def raise_open_files() -> int:
    """The soft open-file limit raised to the hard one (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


# -- servers -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A server process on a free loopback port, its output in a file."""

    command: list[str]
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str) -> None:
        """Started with this process's open-file limit, which raise_open_files raised."""
        raise_open_files()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*self.command, "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.base + ready_path, timeout=1).status_code < 500:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def rss_kib(self) -> int:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=15)
            self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        self.process = None


def companion_server(data_dir: Path, name: str, **env: str) -> Server:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("COMPANION_")
    }
    environment.update(
        {
            "COMPANION_DATA_DIR": str(data_dir),
            "COMPANION_LOG_LEVEL": "WARNING",
            "COMPANION_LOG_FORMAT": "json",
            "COMPANION_ARGON2_TIME_COST": "1",
            "COMPANION_ARGON2_MEMORY_COST": "1024",
            "COMPANION_CATALOGUE_DEFAULTS": "false",
            "COMPANION_DAILY_LIFE": "false",
            # Idle sockets stay open for the whole run; no think time between turns.
            "COMPANION_WS_IDLE_SECONDS": "3600",
            "COMPANION_MESSAGES_PER_MINUTE": "1000000",
            "COMPANION_MESSAGES_PER_DAY": "1000000",
            # Every benchmark user signs up and connects from this one address.
            "COMPANION_REGISTRATIONS_PER_ADDRESS": "1000000",
            "COMPANION_WS_MAX_SOCKETS_PER_USER": "1000000",
            **env,
        }
    )
    command = [str(COMPANION), "serve", "--host", "127.0.0.1"]
    return Server(command, environment, data_dir / f"{name}.log")


def echo_server(data_dir: Path) -> Server:
    command = [sys.executable, "-m", "benchmarks.ws", "--echo-server"]
    return Server(command, dict(os.environ), data_dir / "echo.log")


def serve_echo(port: int) -> None:
    """A bare Litestar WebSocket echo, served by uvicorn as `companion serve` serves ours."""
    import uvicorn
    from litestar import Litestar, WebSocket, get, websocket
    from litestar.exceptions import WebSocketDisconnect

    @get("/health", sync_to_thread=False)
    def health() -> str:
        return "ok"

    @websocket("/echo")
    async def echo(socket: WebSocket[Any, Any, Any]) -> None:
        await socket.accept()
        await socket.send_text('{"type": "connection_status"}')
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await socket.send_text(await socket.receive_text())

    app = Litestar([health, echo], logging_config=None)
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


# -- a small RFC 6455 client ---------------------------------------------------------------


def _masked(data: bytes, mask: bytes) -> bytes:
    size = len(data)
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")


class Socket:
    """One client WebSocket: text frames go to `inbox` with their arrival time; pings answered."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.inbox: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, port: int, path: str, token: str | None = None) -> Socket:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\n{auth}\r\n"
            ).encode()
        )
        answer = await reader.readuntil(b"\r\n\r\n")
        if not answer.startswith(b"HTTP/1.1 101"):
            writer.close()
            raise ConnectionError(answer.split(b"\r\n", 1)[0].decode())
        opened = cls(reader, writer)
        opened.task = asyncio.create_task(opened._read())
        return opened

    async def _read(self) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await self.reader.readexactly(2)
                opcode, size = head[0] & 0x0F, head[1] & 0x7F
                if size == 126:
                    (size,) = struct.unpack("!H", await self.reader.readexactly(2))
                elif size == 127:
                    (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
                data = await self.reader.readexactly(size)
                if opcode == 0x1:
                    self.inbox.put_nowait((time.time(), data))
                elif opcode == 0x9:
                    self._send(0xA, data)
                elif opcode == 0x8:
                    return

    def _send(self, opcode: int, data: bytes) -> None:
        mask = os.urandom(4)
        size = len(data)
        if size < 126:
            header = bytes([0x80 | opcode, 0x80 | size])
        elif size < 65536:
            header = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", size)
        else:
            header = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", size)
        self.writer.write(header + mask + _masked(data, mask))

    def send(self, kind: str, payload: dict[str, Any]) -> str:
        frame_id = str(uuid4())
        self._send(0x1, json.dumps({"id": frame_id, "type": kind, "payload": payload}).encode())
        return frame_id

    async def receive(self, timeout: float = 10.0) -> tuple[float, dict[str, Any]]:
        arrived, data = await asyncio.wait_for(self.inbox.get(), timeout)
        frame: dict[str, Any] = json.loads(data)
        return arrived, frame

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self._send(0x8, struct.pack("!H", 1000))
            self.writer.close()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
