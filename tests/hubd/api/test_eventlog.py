"""The API's event log numbers events by their place in its ring: resuming from any seq gives
exactly the events after it, or None once some of them have left the ring."""

from hubd.api.events import EventLog, KeptEvent, Listener
from hubd.bus import Bus
from hubd.core.clock import ManualClock
from hubd.core.events import Notice
from hubd.core.model import Context, Origin


def _notice(n: int) -> Notice:
    return Notice("test", f"event {n}", float(n), Context.new(Origin.SYSTEM))


def test_resuming_gives_the_events_after_a_seq_until_they_leave_the_ring() -> None:
    log = EventLog(Bus(), ManualClock(1_700_000_000.0), ring_size=3)
    start = log.seq
    events = [_notice(n) for n in range(5)]
    for event in events:
        log.add(event)
    assert log.seq == start + 5
    # The ring holds seqs start+3 .. start+5 (events 2, 3, 4).
    tail = log.since(start + 2)
    assert tail is not None
    assert [(k.seq, k.event) for k in tail] == [(start + 3, events[2]), (start + 4, events[3]),
                                                (start + 5, events[4])]
    later = log.since(start + 4)
    assert later is not None and [(k.seq, k.event) for k in later] == [(start + 5, events[4])]
    now = log.since(start + 5)
    assert now is not None and list(now) == []
    assert log.since(start + 1) is None  # event 1 (seq start+2) has left the ring
    assert log.since(start + 6) is None  # a seq from elsewhere (or another boot)


def test_a_live_client_gets_each_event_numbered_once_encoded_once() -> None:
    log = EventLog(Bus(), ManualClock(1_700_000_000.0), ring_size=3)
    got: list[KeptEvent] = []

    def offer(kept: KeptEvent) -> bool:
        got.append(kept)
        return True

    log.listen(Listener(offer, lambda: None))
    log.add(_notice(1))
    log.add(_notice(2))
    assert [k.seq for k in got] == [log.seq - 1, log.seq]
    text = got[1].encoded()
    assert f'"seq":{log.seq}' in text and "event 2" in text
    assert got[1].encoded() is text
