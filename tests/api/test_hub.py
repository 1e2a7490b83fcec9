"""Fan-out policy: frames are dropped for a slow client, scalars never silently."""

from __future__ import annotations

import asyncio
import json

from unlearnscope.api.hub import ClientQueue, Hub, Outgoing


def _scalar(seq: int) -> Outgoing:
    return Outgoing(json.dumps({"seq": seq}), seq=seq, run_id="r")


def _frame(seq: int) -> Outgoing:
    return Outgoing(b"\x00" * 10, seq=seq, step=seq, run_id="r", droppable=True)


def _drain(q: ClientQueue) -> list[Outgoing]:
    async def go() -> list[Outgoing]:
        out: list[Outgoing] = []
        while len(q):
            item = await q.get()
            assert item is not None
            out.append(item)
        return out

    return asyncio.run(go())


def test_a_backlog_of_frames_keeps_the_newest_and_notes_the_skipped() -> None:
    q = ClientQueue(max_pending=100, max_frames=2)
    for seq in range(1, 11):
        q.put(_frame(seq) if seq % 2 == 0 else _scalar(seq))
    got = _drain(q)
    assert [m.seq for m in got] == list(range(1, 11))  # gapless: skipped ones leave notices
    kinds = [("frame" if m.droppable else json.loads(m.data).get("type")) for m in got]
    assert kinds[-3:] == ["frame", None, "frame"]  # the two newest frames are whole
    skipped = [json.loads(m.data) for m in got if not m.droppable and "skipped" in str(m.data)]
    assert [s["seq"] for s in skipped] == [2, 4, 6] and skipped[0]["of"] == "frames"


def test_too_many_waiting_scalars_overflow_instead_of_dropping() -> None:
    q = ClientQueue(max_pending=5, max_frames=2)
    for seq in range(1, 7):
        q.put(_scalar(seq))
    assert q.overflowed
    assert asyncio.run(q.get()) is None  # the stream ends: the client must reconnect


def test_publish_reaches_every_subscriber_of_the_run_only() -> None:
    hub = Hub(max_pending=10, max_frames=2)
    a, b, other = hub.subscribe("r"), hub.subscribe("r"), hub.subscribe("x")
    hub.publish("r", [_scalar(1), _scalar(2)])
    assert len(a) == len(b) == 2 and len(other) == 0
    hub.unsubscribe("r", a)
    hub.publish("r", [_scalar(3)])
    assert len(a) == 2 and len(b) == 3 and hub.clients("r") == 1


def test_close_wakes_a_waiting_client() -> None:
    async def go() -> tuple[Outgoing | None, tuple[int, str] | None]:
        q = ClientQueue()
        waiter = asyncio.create_task(q.get())
        await asyncio.sleep(0)
        q.close(4004, "deleted")
        return await waiter, q.closed

    assert asyncio.run(go()) == (None, (4004, "deleted"))
