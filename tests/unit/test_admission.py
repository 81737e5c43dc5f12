"""gql.admission's gates, in one event loop: first come first served, a bounded wait,
no place lost to a timeout or a cancellation, and per-tenant gates that exist only while
the tenant has requests in flight. (The same rules against a real worker:
tests/reliability/test_admission.py.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

from gql.admission import Admission, Gate, Throttled, tenant_of
from tenancy.principal import Principal, Role

LONG = 60.0  # a wait that never ends within a test
SHORT = 0.01
T = TypeVar("T")


def _run(test: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(test())


def _spend_cpu(seconds: float) -> None:
    """Busy the thread for ``seconds`` of its CPU time: a parse, as pacing measures it."""
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        pass


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def reseller(reseller_id: int, token_id: int) -> Principal:
    return Principal(Role.RESELLER, reseller_id, token_id, f"token {token_id}")


def administrator(token_id: int) -> Principal:
    return Principal(Role.ADMINISTRATOR, None, token_id, f"admin {token_id}")


def test_a_gate_admits_its_size_then_queues_first_come_first_served() -> None:
    async def test() -> None:
        gate = Gate(2)
        assert await gate.enter(LONG) and await gate.enter(LONG)
        order: list[int] = []

        async def wait(i: int) -> None:
            assert await gate.enter(LONG)
            order.append(i)

        waiters = [asyncio.create_task(wait(i)) for i in range(3)]
        await _settle()
        assert (gate.holders, gate.waiting, order) == (2, 3, [])
        gate.leave()
        await _settle()
        assert order == [0]
        gate.leave()
        gate.leave()
        await asyncio.gather(*waiters)
        assert order == [0, 1, 2]
        assert (gate.holders, gate.waiting) == (2, 0)
        for _ in range(2):
            gate.leave()
        assert gate.idle

    _run(test)


def test_a_newcomer_never_overtakes_the_queue() -> None:
    async def test() -> None:
        gate = Gate(1)
        assert await gate.enter(LONG)
        first = asyncio.create_task(gate.enter(LONG))
        await _settle()
        gate.leave()  # handed to the waiter, not freed for the newcomer
        assert not await gate.enter(SHORT)
        assert await first
        assert gate.holders == 1

    _run(test)


def test_a_wait_ends_after_its_deadline_and_leaves_nothing_behind() -> None:
    async def test() -> None:
        gate = Gate(1)
        assert await gate.enter(LONG)
        assert not await gate.enter(SHORT)
        assert (gate.holders, gate.waiting) == (1, 0)
        gate.leave()
        assert gate.idle
        assert await gate.enter(0)  # a free place needs no waiting

    _run(test)


def test_a_cancelled_waiter_loses_no_place() -> None:
    async def test() -> None:
        gate = Gate(1)
        assert await gate.enter(LONG)
        waiting = asyncio.create_task(gate.enter(LONG))
        await _settle()
        waiting.cancel()
        await _settle()
        assert gate.waiting == 0
        gate.leave()
        assert gate.idle

        # Cancelled after its place was handed over, before it ran: the place moves on.
        assert await gate.enter(LONG)
        handed = asyncio.create_task(gate.enter(LONG))
        behind = asyncio.create_task(gate.enter(LONG))
        await _settle()
        gate.leave()
        handed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await handed
        assert await behind
        gate.leave()
        assert gate.idle

    _run(test)


def test_tenants_are_resellers_with_all_their_tokens_and_each_administrator_token() -> None:
    assert tenant_of(reseller(7, 1)) == tenant_of(reseller(7, 2))
    assert tenant_of(reseller(7, 1)) != tenant_of(reseller(8, 1))
    assert tenant_of(administrator(1)) != tenant_of(administrator(2))
    assert tenant_of(administrator(7)) != tenant_of(reseller(7, 7))


def test_admission_caps_each_tenant_and_forgets_idle_tenants() -> None:
    async def test() -> None:
        admission = Admission(2, wait_seconds=SHORT)
        release = asyncio.Event()
        ran: list[str] = []

        async def request(principal: Principal, name: str) -> str:
            try:
                async with admission.admit(principal):
                    ran.append(name)
                    await release.wait()
            except Throttled:
                return "throttled"
            return "ok"

        running = [
            asyncio.create_task(request(reseller(7, 1), "a1")),
            asyncio.create_task(request(reseller(7, 2), "a2")),
            asyncio.create_task(request(administrator(1), "admin1")),
        ]
        await _settle()
        # A's two tokens fill its two places; a third request of A is refused unexecuted.
        assert await request(reseller(7, 3), "a3") == "throttled"
        assert "a3" not in ran
        # Other tenants and another administrator token are not affected.
        others = [
            asyncio.create_task(request(reseller(8, 9), "b")),
            asyncio.create_task(request(administrator(2), "admin2")),
        ]
        await _settle()
        assert sorted(ran) == ["a1", "a2", "admin1", "admin2", "b"]
        assert admission.tenants == 4
        release.set()
        assert await asyncio.gather(*running, *others) == ["ok"] * 5
        assert admission.tenants == 0  # no gate is kept for a tenant with nothing in flight

    _run(test)


def test_admission_waits_for_a_place_that_frees_within_the_wait() -> None:
    async def test() -> None:
        admission = Admission(1, wait_seconds=LONG)
        order: list[str] = []

        async def request(name: str, hold: asyncio.Event | None) -> None:
            async with admission.admit(reseller(7, 1)):
                order.append(name)
                if hold is not None:
                    await hold.wait()

        hold = asyncio.Event()
        first = asyncio.create_task(request("first", hold))
        await _settle()
        second = asyncio.create_task(request("second", None))
        await _settle()
        assert order == ["first"]
        hold.set()
        await asyncio.gather(first, second)
        assert order == ["first", "second"]
        assert admission.tenants == 0

    _run(test)


def test_a_concurrency_of_0_admits_everything() -> None:
    async def test() -> None:
        admission = Admission(0, wait_seconds=SHORT)
        gates = [admission.admit(reseller(7, 1)) for _ in range(50)]
        for gate in gates:
            await gate.__aenter__()
        assert admission.tenants == 0
        for gate in gates:
            await gate.__aexit__(None, None, None)

    _run(test)


def test_a_tenant_parses_one_new_document_at_a_time() -> None:
    """Parsing a new document is the one step no cost bounds (gql/admission.py): a
    tenant's second new document waits for its first; another tenant's does not."""

    async def test() -> None:
        admission = Admission(8, wait_seconds=SHORT)
        hold = asyncio.Event()
        parsing: list[str] = []

        async def parse(principal: Principal, name: str) -> str:
            try:
                async with admission.parsing(principal):
                    parsing.append(name)
                    await hold.wait()
            except Throttled as refused:
                assert "one at a time" in str(refused)
                return "throttled"
            return "ok"

        first = asyncio.create_task(parse(reseller(7, 1), "a1"))
        other = asyncio.create_task(parse(reseller(8, 1), "b1"))
        await _settle()
        # A's second token shares A's one parse; it waits, then is refused.
        assert await parse(reseller(7, 2), "a2") == "throttled"
        assert parsing == ["a1", "b1"]
        hold.set()
        assert list(await asyncio.gather(first, other)) == ["ok", "ok"]

    _run(test)


def test_a_tenant_spends_at_most_a_tenth_of_the_worker_parsing() -> None:
    """After a parse that took t of CPU, the tenant's next new document waits 9 t: its
    parsing takes at most parse_share of the worker's time. Timer-based, so only lower bounds
    are asserted (a timer never fires early)."""

    async def test() -> None:
        admission = Admission(8, wait_seconds=LONG)
        loop = asyncio.get_running_loop()
        assert admission.parse_share == 0.1  # the default
        async with admission.parsing(reseller(7, 1)):
            _spend_cpu(0.02)  # "parsing": 20 ms of CPU
        ended = loop.time()
        async with admission.parsing(reseller(7, 2)):
            assert loop.time() - ended >= 9 * 0.02

    _run(test)


def test_the_parse_gate_is_off_with_the_cap() -> None:
    async def test() -> None:
        admission = Admission(0, wait_seconds=SHORT)
        async with admission.parsing(reseller(7, 1)), admission.parsing(reseller(7, 1)):
            pass  # both at once: no gate

    _run(test)


def test_parse_pacing_outlives_the_event_loop_it_started_on() -> None:
    """A test client runs each request on an event loop of its own: the pause after a
    parse must not be a timer of the loop that ends with the request, or the tenant's
    gate would stay taken and every later new document be refused."""
    admission = Admission(8, wait_seconds=1.0)

    async def parse() -> None:
        async with admission.parsing(reseller(7, 1)):
            _spend_cpu(0.002)  # 2 ms of CPU: an 18 ms pause

    for _ in range(3):
        _run(parse)  # each on a new loop; none refused


def test_a_pause_longer_than_the_wait_is_refused_at_once() -> None:
    async def test() -> None:
        admission = Admission(8, wait_seconds=0.05)
        async with admission.parsing(reseller(7, 1)):
            _spend_cpu(0.02)  # a 180 ms pause follows
        loop = asyncio.get_running_loop()
        asked = loop.time()
        with pytest.raises(Throttled, match="paced"):
            async with admission.parsing(reseller(7, 2)):
                pass
        assert loop.time() - asked < 0.05  # refused without waiting out the pause
        async with admission.parsing(reseller(8, 1)):
            pass  # another tenant is not paced

    _run(test)


def test_the_parse_share_is_a_setting() -> None:
    """BILLCLASS_PARSE_SHARE sets the pause: at share 0.5 a parse of t is followed by t."""

    async def test() -> None:
        admission = Admission(8, wait_seconds=LONG, parse_share=0.5)
        loop = asyncio.get_running_loop()
        async with admission.parsing(reseller(7, 1)):
            _spend_cpu(0.05)
        ended = loop.time()
        async with admission.parsing(reseller(7, 2)):
            waited = loop.time() - ended
        assert 0.05 <= waited < 0.45  # t, not 9 t

    _run(test)
    for share in (0, 1.5):
        with pytest.raises(ValueError, match="parse_share"):
            Admission(8, parse_share=share)
