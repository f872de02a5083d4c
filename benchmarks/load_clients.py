"""The virtual users of the mixed load: what each one does, and what every request took.

A virtual user signs up, opens a socket, tells its character about its cat, and
then, until the run's deadline, does one operation after another with a think
time between them: chat turns over REST and over the socket, reads, purchases,
memory questions, fresh sign-ups. Each request goes to the next API process in
turn (no proxy, no stickiness); the socket stays on the process it opened on.
A request answered 2xx counts as done, 429 with Retry-After as limited, anything
else (another status, a transport error, a timeout) as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import httpx

from benchmarks.harness import USER_TEXT
from benchmarks.ws_harness import Socket
from companion.adapters.llm.offline import OfflinePersonaResponder
from companion.domain.characters import Persona
from companion.domain.chat import ChatRequest
from tests.support.personas import PERSONA_INPUT as PERSONA

PASSWORD = "correct horse battery staple"
TOLD = "My cat is called Mochi."
ASKED = "What's my cat called?"
REMEMBERED = "Mochi"
PROMPTS = (
    USER_TEXT,
    "I went hiking this morning and the view from the top was amazing!",
    "Work was rough today, my boss yelled at everyone.",
    "週末は一緒にカフェに行きたいな。おすすめある?",
)
"""What the REST and WebSocket turns say, in turn; the model is timed on the same."""

WEIGHTS = {
    "rest turn": 24,
    "ws turn": 16,
    "memory question": 8,
    "read messages": 12,
    "read emotion": 12,
    "read memories": 8,
    "read store items": 8,
    "purchase": 5,
    "sign up": 4,
}
"""How often a virtual user picks each operation (a purchase is a checkout and a buy)."""


class Refused(Exception):
    """A request answered with a status that is neither 2xx nor a 429 with Retry-After."""


@dataclass
class Tally:
    """Every request of the run: seconds by operation, limited and failed counts."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    limited: Counter[str] = field(default_factory=Counter)
    pending: Counter[str] = field(default_factory=Counter)
    """Writes answered before their read models applied them (X-Consistency: pending)."""
    errors: Counter[str] = field(default_factory=Counter)
    why: Counter[str] = field(default_factory=Counter)
    asked: int = 0
    recalled: int = 0

    def failed(self, op: str, reason: str) -> None:
        self.errors[op] += 1
        self.why[f"{op}: {reason}"] += 1

    def ops(self) -> list[str]:
        return sorted(set(self.seconds) | set(self.limited) | set(self.errors))

    def rows(self, seconds: float) -> list[str]:
        """One line an operation: count, rate, p50 / p99, 429s, errors; then the errors."""
        lines = []
        for op in self.ops():
            v = self.seconds.get(op, [])
            lines.append(
                f"  {op:<20} {len(v):>6,} {len(v) / seconds:>6.1f}/s"
                f"  p50 {median(v) * 1000:>6.1f} ms  p99 {percentile(v, 99) * 1000:>7.1f} ms"
                f"  429 {self.limited[op]:>3}  errors {self.errors[op]}"
                + (f"  read-your-writes pending {self.pending[op]}" if self.pending[op] else "")
            )
        lines += [f"  error: {why} ×{n}" for why, n in self.why.most_common(5)]
        if self.asked:
            lines.append(f"  memory questions answered with the name: {self.recalled}/{self.asked}")
        return lines


def compare(runs: list[tuple[str, Tally, float]], overheads: list[float]) -> list[str]:
    """Runs side by side: each operation's rate, p50 and p99; the turn's overhead p99."""
    lines = [f"{'':<22}" + "".join(f"{name + ': n/s, p50 / p99 ms':>34}" for name, _, _ in runs)]
    for op in sorted({op for _, tally, _ in runs for op in tally.ops()}):
        row = f"{op:<22}"
        for _, tally, seconds in runs:
            v = tally.seconds.get(op, [])
            row += (
                f"{len(v) / seconds:>12.1f}/s {median(v) * 1000:>8.1f} /"
                f"{percentile(v, 99) * 1000:>8.1f} ms"
            )
        lines.append(row)
    return [*lines, f"{'turn overhead p99':<22}" + "".join(f"{o:>29.1f} ms  " for o in overheads)]


def percentile(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


@dataclass
class Fleet:
    """The API processes as one client sees them: a client each, taken in turn."""

    bases: list[str]
    tally: Tally
    clients: list[httpx.AsyncClient] = field(default_factory=list)
    turn: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        self.clients = [
            httpx.AsyncClient(base_url=base, timeout=30, limits=limits) for base in self.bases
        ]

    def port(self, index: int) -> int:
        port = urlsplit(self.bases[index % len(self.bases)]).port
        assert port is not None
        return port

    async def close(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self.clients))

    async def call(self, op: str, method: str, path: str, **kwargs: Any) -> dict[str, Any] | None:
        """One timed request to the next process; its JSON, or None when limited."""
        client = self.clients[next(self.turn) % len(self.clients)]
        started = time.perf_counter()
        try:
            answer = await client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            self.tally.failed(op, type(error).__name__)
            raise Refused(op) from error
        elapsed = time.perf_counter() - started
        if answer.status_code == 429 and "retry-after" in answer.headers:
            self.tally.limited[op] += 1
            return None
        if not answer.is_success:
            code = ""
            with contextlib.suppress(ValueError, AttributeError):
                code = answer.json().get("code", "")
            self.tally.failed(op, f"{answer.status_code} {code}".strip())
            raise Refused(op)
        self.tally.seconds[op].append(elapsed)
        if answer.headers.get("x-consistency") == "pending":
            self.tally.pending[op] += 1
        body: dict[str, Any] = answer.json() if answer.content else {}
        return body


@dataclass
class VirtualUser:
    fleet: Fleet
    index: int
    deadline: float
    think: tuple[float, float]
    headers: dict[str, str] = field(default_factory=dict)
    character: str = ""
    socket: Socket | None = None
    unowned: list[str] = field(default_factory=list)
    said: itertools.count[int] = field(default_factory=itertools.count)

    async def sign_up(self) -> dict[str, str] | None:
        email = f"load-{uuid4().hex[:12]}@example.com"
        body = {"email": email, "password": PASSWORD, "name": "Load", "nickname": "load"}
        if await self.fleet.call("sign up", "POST", "/api/v1/auth/register", json=body) is None:
            return None
        login = {"email": email, "password": PASSWORD}
        token = await self.fleet.call("log in", "POST", "/api/v1/auth/token", json=login)
        return None if token is None else {"Authorization": f"Bearer {token['access_token']}"}

    async def start(self) -> None:
        headers = await self.sign_up()
        if headers is None:
            raise Refused("sign up")
        self.headers = headers
        made = await self.fleet.call(
            "create character", "POST", "/api/v1/characters", headers=headers, json=PERSONA
        )
        assert made is not None
        self.character = made["character_id"]
        items = await self.fleet.call(
            "read store items", "GET", "/api/v1/store/items", headers=headers
        )
        assert items is not None
        affordable = [i for i in items["items"] if not i["is_premium"] and i["min_level"] <= 1]
        self.unowned = [i["item_id"] for i in sorted(affordable, key=lambda i: i["price_gems"])]
        token = headers["Authorization"].removeprefix("Bearer ")
        self.socket = await Socket.open(self.fleet.port(self.index), "/api/v1/ws", token)
        await self.socket.receive()
        await self.rest_turn(TOLD)

    async def rest_turn(self, text: str, op: str = "rest turn") -> str | None:
        path = f"/api/v1/characters/{self.character}/messages"
        turn = await self.fleet.call(op, "POST", path, headers=self.headers, json={"text": text})
        return None if turn is None else str(turn["reply"]["text"])

    async def ws_turn(self, text: str) -> None:
        assert self.socket is not None
        while not self.socket.inbox.empty():
            self.socket.inbox.get_nowait()
        mine = str(uuid4())
        started = time.perf_counter()
        payload = {"character_id": self.character, "text": text, "client_message_id": mine}
        self.socket.send("chat_message", payload)
        message_id = None
        while True:
            try:
                _, frame = await self.socket.receive(timeout=30)
            except TimeoutError:
                self.fleet.tally.failed("ws turn", "timeout")
                return
            kind, body = frame["type"], frame.get("payload", {})
            if kind == "error":
                if "retry_after" in body:
                    self.fleet.tally.limited["ws turn"] += 1
                else:
                    self.fleet.tally.failed("ws turn", str(body.get("code")))
                return
            if kind == "chat_message" and body.get("client_message_id") == mine:
                message_id = body["message_id"]
            elif (
                kind == "chat_response"
                and body.get("done")
                and message_id is not None
                and body.get("in_reply_to") == message_id
            ):
                self.fleet.tally.seconds["ws turn"].append(time.perf_counter() - started)
                return

    async def purchase(self) -> None:
        if not self.unowned:
            return await self.read("read store items", "/api/v1/store/items")
        h = self.headers
        paid = await self.fleet.call(
            "checkout (sandbox)",
            "POST",
            "/api/v1/gems/checkout",
            headers=h,
            json={"pack_id": "gems-550"},
        )
        if paid is None:
            return None
        body = {
            "item_id": self.unowned.pop(0),
            "character_id": self.character,
            "idempotency_key": uuid4().hex,
        }
        await self.fleet.call("buy item", "POST", "/api/v1/store/purchases", headers=h, json=body)
        return None

    async def read(self, op: str, path: str) -> None:
        await self.fleet.call(op, "GET", path, headers=self.headers)

    async def act(self, op: str) -> None:
        c = f"/api/v1/characters/{self.character}"
        if op == "rest turn":
            await self.rest_turn(PROMPTS[next(self.said) % len(PROMPTS)])
        elif op == "ws turn":
            await self.ws_turn(PROMPTS[next(self.said) % len(PROMPTS)])
        elif op == "memory question":
            reply = await self.rest_turn(ASKED, op)
            if reply is not None:
                self.fleet.tally.asked += 1
                self.fleet.tally.recalled += REMEMBERED in reply
        elif op == "read messages":
            await self.read(op, f"{c}/messages?limit=20")
        elif op == "read emotion":
            await self.read(op, f"{c}/emotion")
        elif op == "read memories":
            await self.read(op, f"{c}/memories")
        elif op == "read store items":
            await self.read(op, "/api/v1/store/items")
        elif op == "purchase":
            await self.purchase()
        elif op == "sign up":
            await self.sign_up()

    async def run(self, rng: random.Random) -> None:
        await asyncio.sleep(rng.uniform(0, 2 * self.think[1]))
        try:
            await self.start()
        except (Refused, AssertionError, OSError, ConnectionError, TimeoutError) as error:
            self.fleet.tally.failed("start", type(error).__name__)
            return
        ops, weights = list(WEIGHTS), list(WEIGHTS.values())
        try:
            while time.monotonic() < self.deadline:
                await asyncio.sleep(rng.uniform(*self.think))
                if time.monotonic() >= self.deadline:
                    break
                with contextlib.suppress(Refused):
                    await self.act(rng.choices(ops, weights)[0])
        finally:
            if self.socket is not None:
                await self.socket.close()


async def drive(bases: list[str], users: int, seconds: float, think: tuple[float, float]) -> Tally:
    """`users` virtual users against `bases` for `seconds`; every request's outcome."""
    tally = Tally()
    fleet = Fleet(bases, tally)
    deadline = time.monotonic() + seconds
    rng = random.Random(20261208)
    people = [VirtualUser(fleet, i, deadline, think) for i in range(users)]
    try:
        await asyncio.gather(*(p.run(random.Random(rng.random())) for p in people))
    finally:
        await fleet.close()
    return tally


async def sign_up_tokens(base: str, count: int) -> list[str]:
    """Tokens of `count` new users, for the idle sockets."""
    tokens = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for _ in range(count):
            email = f"idle-{uuid4().hex[:12]}@example.com"
            body = {"email": email, "password": PASSWORD, "name": "Idle", "nickname": "idle"}
            (await http.post("/api/v1/auth/register", json=body)).raise_for_status()
            login = await http.post(
                "/api/v1/auth/token", json={"email": email, "password": PASSWORD}
            )
            tokens.append(login.raise_for_status().json()["access_token"])
    return tokens


async def warm_up(bases: list[str], turns: int = 5) -> None:
    """A few untimed turns and reads on every process, so that none starts the run cold."""
    tally = Tally()
    fleet = Fleet(bases, tally)
    try:
        for index in range(len(bases)):
            user = VirtualUser(fleet, index, time.monotonic(), (0.0, 0.0))
            try:
                await user.start()
            except Refused as error:
                raise RuntimeError(f"the warm-up failed: {dict(tally.why)}") from error
            for op in ("rest turn", "ws turn", "read messages", "read emotion", "read memories"):
                for _ in range(turns if "turn" in op else 1):
                    await user.act(op)
            if user.socket is not None:
                await user.socket.close()
    finally:
        await fleet.close()
    if tally.errors:
        raise RuntimeError(f"the warm-up failed: {dict(tally.why)}")


async def hold_idle(bases: list[str], count: int, rss_kib: Callable[[], int]) -> tuple[int, float]:
    """Idle sockets held at once over the API processes: how many, and KiB of RSS each."""
    tokens = await sign_up_tokens(bases[0], count // 500 + 1)
    await asyncio.sleep(1.0)
    before = rss_kib()
    held: list[Socket] = []
    gate = asyncio.Semaphore(100)

    async def one(index: int) -> None:
        async with gate:
            with contextlib.suppress(OSError, TimeoutError, asyncio.IncompleteReadError):
                port = urlsplit(bases[index % len(bases)]).port
                assert port is not None
                opened = await Socket.open(port, "/api/v1/ws", tokens[index % len(tokens)])
                await opened.receive(timeout=30)
                held.append(opened)

    await asyncio.gather(*(one(i) for i in range(count)))
    await asyncio.sleep(1.0)
    after = rss_kib()
    await asyncio.gather(*(s.close() for s in held))
    return len(held), (after - before) / max(1, len(held))


def model_ms(rounds: int = 200) -> tuple[float, float]:
    """The offline model's p50 / p99 per reply, in-process, on the load's prompts."""
    model = OfflinePersonaResponder()
    persona = Persona.parse(**PERSONA)
    texts = [*PROMPTS, TOLD, ASKED]
    seconds = []
    for index in range(rounds * len(texts)):
        request = ChatRequest(
            persona=persona, user_nickname="load", user_text=texts[index % len(texts)]
        )
        started = time.perf_counter()
        model.reply(request)
        seconds.append(time.perf_counter() - started)
    return percentile(seconds, 50) * 1000, percentile(seconds, 99) * 1000


def served_model_ms(bases: list[str], token: str) -> float:
    """Mean seconds of the servers' own `companion_model_reply_seconds`, in ms."""
    total = count = 0.0
    for base in bases:
        with contextlib.suppress(httpx.HTTPError):
            text = httpx.get(
                f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=5
            ).text
            for line in text.splitlines():
                if line.startswith("companion_model_reply_seconds_sum"):
                    total += float(line.rsplit(" ", 1)[1])
                elif line.startswith("companion_model_reply_seconds_count"):
                    count += float(line.rsplit(" ", 1)[1])
    return 1000 * total / count if count else float("nan")
