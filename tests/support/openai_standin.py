"""A local OpenAI-compatible server for tests: `POST /v1/chat/completions`, streamed as SSE,
and `POST /v1/embeddings`.

Each request takes the next scripted answer (the last one repeats):
`Stream` (real SSE chunks, optionally cut before the end or spiced with garbage),
`Status` (an error status, optionally with Retry-After) or `Slow` (waits before
answering, then streams); `Completion` (one whole, unstreamed chat completion
with the given content, e.g. a JSON answer or a malformed one); `Embeddings`
(a vector per input text: given ones, or made from the text's words, so texts
sharing words are similar); `Raw` (any body, e.g. one that is no completion at
all). It remembers every request body it saw. Given an `embeddings` script of
its own, `/v1/embeddings` answers from that one and keeps its requests apart
(`embedding_requests`), so chat and embeddings calls interleave freely.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "standin-7b"


@dataclass(frozen=True)
class Stream:
    pieces: Sequence[str] = ("Hello", " there", ", Ai!")
    usage: tuple[int, int] | None = (42, 7)
    cut_after: int | None = None
    """Close the connection after this many pieces, before the end of the stream."""
    garbage: str | None = None
    """A line sent in the middle of the stream (e.g. 'data: {not json')."""
    delay: float = 0.0
    """Seconds before the response starts (longer than the client's timeout: a timeout)."""
    stall: float = 0.0
    """Seconds the stream stops for after `stall_after` pieces; after none (the headers and
    the empty first chunk only), a model that has not produced its first token."""
    stall_after: int = 0


@dataclass(frozen=True)
class Status:
    code: int
    retry_after: str | None = None


@dataclass(frozen=True)
class Completion:
    """A whole chat completion (not streamed) whose message has this content."""

    content: str | None
    usage: tuple[int, int] = (42, 7)


@dataclass(frozen=True)
class Embeddings:
    """One vector per input: `vectors` as given, else made from each text's words."""

    vectors: Sequence[Sequence[float]] | None = None
    dimensions: int = 16
    alike: Mapping[str, str] = field(default_factory=dict)
    """Words hashed as another word ("furry" as "cat"): texts of words made alike point alike."""
    delay: float = 0.0
    """Seconds before the answer (longer than the client's timeout: a timeout)."""


@dataclass(frozen=True)
class Raw:
    """Any body at all, as it is."""

    body: str
    status: int = 200
    content_type: str = "application/json"


Answer = Stream | Status | Completion | Embeddings | Raw


def words_vector(text: str, dimensions: int, alike: Mapping[str, str] | None = None) -> list[float]:
    """A unit vector of the text's hashed words: texts that share words point alike."""
    vector = [0.0] * dimensions
    for word in text.lower().split():
        bare = word.strip(".,!?")
        bare = (alike or {}).get(bare, bare)
        digest = hashlib.sha256(bare.encode()).digest()
        vector[digest[0] % dimensions] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


@dataclass
class StandIn:
    script: list[Answer] = field(default_factory=lambda: [Stream()])
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    embeddings: list[Answer] | None = None
    embedding_requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def next_answer(self, body: dict[str, Any]) -> Answer:
        self.requests.append(body)
        index = min(len(self.requests), len(self.script)) - 1
        return self.script[index]

    def next_embeddings_answer(self, body: dict[str, Any]) -> Answer:
        if self.embeddings is None:
            return self.next_answer(body)
        self.embedding_requests.append(body)
        index = min(len(self.embedding_requests), len(self.embeddings)) - 1
        return self.embeddings[index]


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if self.path not in ("/v1/chat/completions", "/v1/embeddings"):
            self._status(Status(404))
            return
        standin = self.server.standin
        answer = (
            standin.next_embeddings_answer(body)
            if self.path == "/v1/embeddings"
            else standin.next_answer(body)
        )
        if isinstance(answer, Status):
            self._status(answer)
        elif isinstance(answer, Raw):
            self._send_json(answer.body.encode(), answer.status, answer.content_type)
        elif isinstance(answer, Completion):
            self._completion(answer)
        elif isinstance(answer, Embeddings):
            self._embeddings(answer, body)
        else:
            self._stream(answer)

    def _send_json(self, payload: bytes, status: int = 200, content_type: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _completion(self, answer: Completion) -> None:
        prompt, completion = answer.usage
        body = {
            "id": "chatcmpl-standin",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }
        self._send_json(json.dumps(body).encode())

    def _embeddings(self, answer: Embeddings, body: dict[str, Any]) -> None:
        texts = body.get("input", [])
        texts = [texts] if isinstance(texts, str) else list(texts)
        if answer.delay:
            time.sleep(answer.delay)
        vectors = (
            [list(v) for v in answer.vectors]
            if answer.vectors is not None
            else [words_vector(str(text), answer.dimensions, answer.alike) for text in texts]
        )
        reply = {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
            ],
            "model": body.get("model", MODEL),
            "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
        }
        self._send_json(json.dumps(reply).encode())

    def _status(self, answer: Status) -> None:
        payload = json.dumps({"error": {"message": f"status {answer.code}", "type": "x"}}).encode()
        self.send_response(answer.code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if answer.retry_after is not None:
            self.send_header("Retry-After", answer.retry_after)
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, answer: Stream) -> None:
        if answer.delay:
            time.sleep(answer.delay)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._send_event(_chunk({"role": "assistant", "content": ""}))
        for number, piece in enumerate(answer.pieces):
            if answer.stall and number == answer.stall_after:
                time.sleep(answer.stall)
            if answer.cut_after is not None and number == answer.cut_after:
                # No final chunk, no [DONE], no end of the chunked body: a cut connection.
                self.wfile.flush()
                self.close_connection = True
                return
            if answer.garbage is not None and number == len(answer.pieces) // 2:
                self._send_raw(answer.garbage + "\n\n")
            self._send_event(_chunk({"content": piece}))
        self._send_event(_chunk({}, finish="stop"))
        if answer.usage is not None:
            prompt, completion = answer.usage
            final = _chunk({})
            final["choices"] = []
            final["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
            self._send_event(final)
        self._send_raw("data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _send_event(self, data: dict[str, Any]) -> None:
        self._send_raw(f"data: {json.dumps(data)}\n\n")

    def _send_raw(self, text: str) -> None:
        raw = text.encode()
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, standin: StandIn) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.standin = standin

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout) leaves a broken pipe behind: expected here.
        pass


@contextmanager
def serving(*script: Answer, embeddings: Sequence[Answer] | None = None) -> Iterator[StandIn]:
    """A stand-in on 127.0.0.1 answering the script, for the duration of the block; with
    `embeddings`, `/v1/embeddings` answers from that script instead."""
    standin = StandIn(list(script) or [Stream()])
    standin.embeddings = None if embeddings is None else list(embeddings)
    server = _Server(standin)
    standin.port = server.server_address[1]
    # A short poll interval: shutting down waits for it.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
