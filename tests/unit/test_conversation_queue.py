"""One turn of a conversation at a time, first come first served, threads and tasks alike."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from companion.app.conversation_queue import ConversationQueue
from companion.app.errors import ApplicationError, ConversationBusy

KEY = "conversation"
PATIENCE = 10.0
"""How long a test waits for something that is sure to happen, before it fails."""


def _until(condition: Callable[[], bool]) -> None:
    """Wait for another thread to get somewhere (the condition), however slow it is."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.001)


async def _until_async(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.001)


def _waiting(queue: ConversationQueue, turns: int) -> bool:
    return queue.waiting(KEY) == turns


def _joined(thread: threading.Thread) -> None:
    thread.join(PATIENCE)
    assert not thread.is_alive(), "a turn never got the key"


async def _done(awaitable: Any) -> Any:
    """Await, but fail rather than hang if it never ends."""
    return await asyncio.wait_for(awaitable, PATIENCE)


def _at_once_or_never(call: Callable[[], Any]) -> BaseException | None:
    """What `call` raised in a thread of its own; fails if that thread is left waiting."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=run, daemon=True)  # daemon: it may never end
    thread.start()
    _joined(thread)
    return raised[0] if raised else None


class Turns:
    """Records who held the key, in order, and that no two ever held it at once."""

    def __init__(self) -> None:
        self.order: list[Any] = []
        self.inside = 0
        self.most_inside = 0
        self._lock = threading.Lock()

    def enter(self, who: Any) -> None:
        with self._lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            self.order.append(who)

    def leave(self) -> None:
        with self._lock:
            self.inside -= 1


def _thread_turn(queue: ConversationQueue, turns: Turns, who: Any) -> threading.Thread:
    def take() -> None:
        with queue.hold(KEY):
            turns.enter(who)
            turns.leave()

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    return thread


def test_turns_of_one_conversation_go_one_at_a_time_in_the_order_they_came() -> None:
    queue, turns = ConversationQueue(), Turns()
    queue.acquire(KEY)
    threads = []
    for n in range(8):
        threads.append(_thread_turn(queue, turns, n))
        _until(partial(_waiting, queue, n + 1))
    queue.release(KEY)
    for thread in threads:
        _joined(thread)
    assert turns.order == list(range(8))
    assert turns.most_inside == 1
    assert len(queue) == 0


def test_other_conversations_do_not_wait() -> None:
    queue = ConversationQueue()
    with queue.hold("one"), queue.hold("two"):
        assert queue.held("one")
        assert queue.held("two")
        assert queue.waiting("one") == queue.waiting("two") == 0
    assert len(queue) == 0


def test_threads_and_tasks_take_their_turns_in_the_order_they_came() -> None:
    queue, turns = ConversationQueue(), Turns()
    threads: list[threading.Thread] = []

    async def task_turn(who: str) -> None:
        async with queue.hold_async(KEY):
            turns.enter(who)
            await asyncio.sleep(0)  # the loop is free while a task holds the key
            turns.leave()

    async def main() -> None:
        await queue.acquire_async(KEY)
        tasks = []
        for n in range(6):
            if n % 2:
                tasks.append(asyncio.create_task(task_turn(f"task {n}")))
            else:
                threads.append(_thread_turn(queue, turns, f"thread {n}"))
            await _until_async(partial(_waiting, queue, n + 1))
        # Given back from another thread: the tasks are woken in their loop.
        giver = threading.Thread(target=queue.release, args=(KEY,), daemon=True)
        giver.start()
        await _done(asyncio.gather(*tasks))
        _joined(giver)

    asyncio.run(main())
    for thread in threads:
        _joined(thread)
    expected = [f"{'task' if n % 2 else 'thread'} {n}" for n in range(6)]
    assert turns.order == expected
    assert turns.most_inside == 1
    assert len(queue) == 0


def test_a_waiting_task_leaves_its_loop_free() -> None:
    queue = ConversationQueue()
    ticks: list[int] = []

    async def main() -> None:
        queue.acquire(KEY)  # held by "another thread's turn"
        waiter = asyncio.create_task(queue.acquire_async(KEY))
        for n in range(20):  # the loop goes on while the task waits
            ticks.append(n)
            await asyncio.sleep(0)
        assert not waiter.done()
        await asyncio.to_thread(queue.release, KEY)
        await _done(waiter)
        assert queue.held(KEY)
        queue.release(KEY)

    asyncio.run(main())
    assert ticks == list(range(20))
    assert len(queue) == 0


def test_a_task_cancelled_while_it_waits_gives_up_its_place() -> None:
    queue, turns = ConversationQueue(), Turns()

    async def task_turn(who: str) -> None:
        async with queue.hold_async(KEY):
            turns.enter(who)
            turns.leave()

    async def main() -> None:
        await queue.acquire_async(KEY)
        first = asyncio.create_task(task_turn("first"))
        second = asyncio.create_task(task_turn("second"))
        await _until_async(lambda: queue.waiting(KEY) == 2)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert queue.waiting(KEY) == 1
        queue.release(KEY)
        await _done(second)

    asyncio.run(main())
    assert turns.order == ["second"]
    assert len(queue) == 0


def test_a_task_cancelled_just_as_it_is_given_the_key_passes_it_on() -> None:
    queue, turns = ConversationQueue(), Turns()

    async def task_turn(who: str) -> None:
        async with queue.hold_async(KEY):
            turns.enter(who)
            turns.leave()

    troubles: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(
            lambda _, trouble: troubles.append(trouble)
        )
        await queue.acquire_async(KEY)
        first = asyncio.create_task(task_turn("first"))
        second = asyncio.create_task(task_turn("second"))
        await _until_async(lambda: queue.waiting(KEY) == 2)
        queue.release(KEY)  # the key is the first task's, before it has woken
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        await _done(second)

    asyncio.run(main())
    assert turns.order == ["second"]
    assert len(queue) == 0
    assert troubles == []  # waking the cancelled task found nothing wrong


def test_a_turn_that_fails_passes_the_key_on() -> None:
    queue, turns = ConversationQueue(), Turns()
    queue.acquire(KEY)
    failed: list[BaseException] = []

    def failing() -> None:
        try:
            with queue.hold(KEY):
                turns.enter("failing")
                turns.leave()
                raise RuntimeError("the model fell over")
        except RuntimeError as error:
            failed.append(error)

    first = threading.Thread(target=failing, daemon=True)
    first.start()
    _until(lambda: queue.waiting(KEY) == 1)
    second = _thread_turn(queue, turns, "next")
    _until(lambda: queue.waiting(KEY) == 2)
    queue.release(KEY)
    _joined(first)
    _joined(second)
    assert turns.order == ["failing", "next"]
    assert [str(e) for e in failed] == ["the model fell over"]
    assert len(queue) == 0


def test_past_its_bound_a_turn_is_refused_at_once_and_the_others_go_on() -> None:
    queue, turns = ConversationQueue(max_waiting=2), Turns()
    queue.acquire(KEY)
    threads = [_thread_turn(queue, turns, n) for n in range(2)]
    _until(lambda: queue.waiting(KEY) == 2)

    refused = _at_once_or_never(lambda: queue.acquire(KEY))

    async def refused_task() -> None:
        with pytest.raises(ConversationBusy):
            await _done(queue.acquire_async(KEY))

    asyncio.run(refused_task())
    assert queue.waiting(KEY) == 2
    queue.release(KEY)
    for thread in threads:
        _joined(thread)
    assert sorted(turns.order) == [0, 1]
    assert isinstance(refused, ConversationBusy)
    assert isinstance(refused, ApplicationError)
    assert refused.code == "conversation_busy"
    assert refused.retry_after >= 1
    assert len(queue) == 0


def test_a_thread_that_waits_past_its_timeout_gives_up_its_place() -> None:
    queue = ConversationQueue()
    queue.acquire(KEY)
    with pytest.raises(ConversationBusy):
        queue.acquire(KEY, timeout=0.01)
    assert queue.waiting(KEY) == 0
    queue.release(KEY)
    assert len(queue) == 0


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("given_first", [False, True])
def test_a_thread_interrupted_while_it_waits_leaves_nothing_held(given_first: bool) -> None:
    queue = ConversationQueue()
    queue.acquire(KEY)

    def interrupt(signum: int, frame: Any) -> None:
        if given_first:
            queue.release(KEY)  # the key is the waiting thread's, as the interrupt comes
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(Interrupted):
            queue.acquire(KEY)  # this thread waits, until the signal's handler raises
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if not given_first:
        assert queue.held(KEY)
        queue.release(KEY)
    assert len(queue) == 0


def test_a_task_whose_loop_closed_while_it_waited_is_passed_over() -> None:
    queue, turns = ConversationQueue(), Turns()
    queue.acquire(KEY)
    loop = asyncio.new_event_loop()
    stranded = loop.create_task(queue.acquire_async(KEY))
    loop.run_until_complete(asyncio.sleep(0))
    assert queue.waiting(KEY) == 1
    loop.close()  # its task never runs again
    after = _thread_turn(queue, turns, "after")
    _until(lambda: queue.waiting(KEY) == 2)
    queue.release(KEY)
    _joined(after)
    assert turns.order == ["after"]
    assert len(queue) == 0
    # Its coroutine, closed at last, has no place left to give up.
    stranded.get_coro().close()
    assert len(queue) == 0


def test_giving_back_a_key_nobody_holds_is_a_mistake() -> None:
    queue = ConversationQueue()
    with pytest.raises(RuntimeError):
        queue.release(KEY)


def test_many_threads_and_tasks_at_once_each_hold_it_alone_and_all_get_their_turn() -> None:
    queue, turns = ConversationQueue(), Turns()
    start = threading.Barrier(16 + 1)

    def thread_turn(n: int) -> None:
        start.wait(timeout=PATIENCE)
        for round_ in range(10):
            with queue.hold(KEY):
                turns.enter(("thread", n, round_))
                turns.leave()

    async def task_turn(n: int) -> None:
        for round_ in range(10):
            async with queue.hold_async(KEY):
                turns.enter(("task", n, round_))
                await asyncio.sleep(0)
                turns.leave()

    async def main() -> None:
        await asyncio.to_thread(start.wait, PATIENCE)
        await _done(asyncio.gather(*(task_turn(n) for n in range(16))))

    threads = [threading.Thread(target=thread_turn, args=(n,), daemon=True) for n in range(16)]
    for thread in threads:
        thread.start()
    asyncio.run(main())
    for thread in threads:
        _joined(thread)
    assert turns.most_inside == 1
    assert len(turns.order) == 320
    # Each one's own turns in the order it asked for them.
    for kind in ("thread", "task"):
        for n in range(16):
            mine = [r for k, m, r in turns.order if (k, m) == (kind, n)]
            assert mine == list(range(10))
    assert len(queue) == 0
