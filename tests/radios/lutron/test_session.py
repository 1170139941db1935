"""The LIP client session, synchronous and byte-exact: login, configure, sync, pacing, echoes."""

import itertools

from hubd.core.model import CommandStatus
from radios.lutron.codec import (
    OutputAction,
    group_query,
    output_action,
    output_query,
    output_set_level,
)
from radios.lutron.reports import DeviceReport, ErrorReport, OutputReport
from radios.lutron.session import (
    LinkLost,
    LinkReady,
    LipSession,
    Phase,
    ReportReceived,
    Request,
    RequestDone,
    UnmatchedError,
)

CONFIG = [b"#MONITORING,11,1\r\n", b"#MONITORING,12,2\r\n", b"#MONITORING,3,1\r\n",
          b"#MONITORING,4,1\r\n", b"#MONITORING,5,1\r\n", b"#MONITORING,6,1\r\n"]
PACE = 0.05


def drive(session: LipSession, start: float, until: float) -> tuple[list[bytes], float]:
    """Run the timers from start to until; return each chunk written and the time now."""
    written, now = [], start
    while True:
        data = session.data_to_send()
        if data:
            written.append(data)
        deadline = session.next_deadline()
        if deadline is None or deadline > until:
            return written, now
        now = max(now, deadline)
        session.handle_timeout(now)


def phase_of(session: LipSession) -> Phase:
    """The session's phase, read afresh (mypy would keep an earlier assert's narrowing)."""
    return session.phase


def ready_session(now: float = 100.0, **kwargs: object) -> tuple[LipSession, float]:
    session = LipSession(now=now, needs_login=False, sync=(output_query(5),), pace_s=PACE,
                         **kwargs)  # type: ignore[arg-type]
    written, now = drive(session, now, now + 1)
    assert written == [*CONFIG, b"?OUTPUT,5,1\r\n", b"?MONITORING,3\r\n"]
    session.receive_data(b"~OUTPUT,5,1,0.00\r\n~MONITORING,3,1\r\n", now)
    events = session.events_received()
    assert events == [ReportReceived(OutputReport(5, 1, 0.0)), LinkReady(is_resync=False)]
    assert session.phase is Phase.READY
    return session, now + 1


def test_telnet_login_is_answered_byte_exact_then_configures() -> None:
    session = LipSession(now=0.0, needs_login=True, username="lutron", password="integration",
                         pace_s=PACE)
    assert session.phase is Phase.LOGIN
    session.receive_data(b"login: ", 0.1)
    assert session.data_to_send() == b"lutron\r\n"
    session.receive_data(b"password: ", 0.2)
    assert session.data_to_send() == b"integration\r\n"
    session.receive_data(b"\r\nGNET> ", 0.3)
    assert phase_of(session) is Phase.CONFIGURE
    assert session.data_to_send() == CONFIG[0]  # at once: pacing starts from here


def test_login_prompt_again_after_password_is_fatal() -> None:
    session = LipSession(now=0.0, needs_login=True, username="lutron", password="wrong")
    session.receive_data(b"login: ", 0.1)
    session.receive_data(b"password: ", 0.2)
    session.data_to_send()
    session.receive_data(b"\r\nlogin: ", 0.3)
    assert session.events_received() == [
        LinkLost("the repeater rejected the username or password", is_fatal=True)]
    assert session.phase is Phase.FAILED
    assert session.data_to_send() == b""
    assert session.next_deadline() is None


def test_no_login_prompt_in_time_loses_the_link() -> None:
    session = LipSession(now=0.0, needs_login=True, login_timeout_s=5.0)
    assert session.next_deadline() == 5.0
    session.handle_timeout(5.0)
    assert isinstance(session.events_received()[0], LinkLost)


def test_configure_and_sync_are_paced() -> None:
    session = LipSession(now=0.0, needs_login=False, sync=(output_query(5), group_query(9)),
                         pace_s=PACE)
    times: list[float] = []
    now = 0.0
    while len(times) < 9:
        if session.data_to_send():
            times.append(now)
        now = session.next_deadline() or now
        session.handle_timeout(now)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(abs(g - PACE) < 1e-9 for g in gaps)


def test_level_set_confirmed_by_its_echo() -> None:
    session, now = ready_session()
    session.submit(Request("c1", output_set_level(5, 42), 5, expect_level_pct=42.0), now)
    assert session.data_to_send() == b"#OUTPUT,5,1,42.00\r\n"
    session.receive_data(b"~OUTPUT,5,1,42.00\r\n", now + 0.01)
    assert session.events_received() == [RequestDone("c1", CommandStatus.CONFIRMED),
                                         ReportReceived(OutputReport(5, 1, 42.0), echo_of="c1")]


def test_other_level_is_physical_and_no_echo_fails_after_timeout() -> None:
    session, now = ready_session(confirm_timeout_s=2.0)
    session.submit(Request("c1", output_set_level(5, 42), 5, expect_level_pct=42.0), now)
    session.data_to_send()
    session.receive_data(b"~OUTPUT,5,1,17.00\r\n", now + 0.01)
    assert session.events_received() == [ReportReceived(OutputReport(5, 1, 17.0))]
    assert session.next_deadline() == now + 0.05  # the error window first
    session.handle_timeout(now + 1.0)
    assert session.events_received() == []
    session.handle_timeout(now + 2.0)
    assert session.events_received() == [RequestDone(
        "c1", CommandStatus.FAILED, "no ~OUTPUT echo from the repeater within 2 s")]


def test_error_fails_the_command_in_flight() -> None:
    session, now = ready_session()
    session.submit(Request("c1", output_set_level(99, 42), 99, expect_level_pct=42.0), now)
    session.data_to_send()
    session.receive_data(b"~ERROR,2\r\n", now + 0.01)
    assert session.events_received() == [RequestDone(
        "c1", CommandStatus.FAILED, "the repeater answered ~ERROR,2: object does not exist")]
    assert session.stats.errors_received == 1


def test_error_for_a_sync_query_is_unmatched() -> None:
    session = LipSession(now=0.0, needs_login=False, sync=(output_query(77),), pace_s=PACE)
    drive(session, 0.0, 6 * PACE + 0.001)
    session.receive_data(b"~ERROR,2\r\n", 0.31)
    assert session.events_received() == [UnmatchedError(ErrorReport(2), "?OUTPUT,77,1")]


def test_commands_without_echo_are_sent_when_their_error_window_closes() -> None:
    session, now = ready_session()
    session.submit(Request("r", output_action(5, OutputAction.START_RAISING), 5), now)
    assert session.data_to_send() == b"#OUTPUT,5,2\r\n"
    session.handle_timeout(now + PACE)
    assert session.events_received() == [RequestDone("r", CommandStatus.SENT)]


def test_pending_level_sets_coalesce_per_zone_and_share_the_outcome() -> None:
    session, now = ready_session()
    session.submit(Request("a", output_set_level(5, 10), 5, expect_level_pct=10.0), now)
    assert session.data_to_send() == b"#OUTPUT,5,1,10.00\r\n"
    for token, level in (("b", 20.0), ("c", 30.0), ("d", 40.0)):
        session.submit(Request(token, output_set_level(5, level), 5, expect_level_pct=level), now)
    session.submit(Request("x", output_set_level(6, 1), 6, expect_level_pct=1.0), now)
    written, later = drive(session, now, now + 1)
    assert written == [b"#OUTPUT,5,1,40.00\r\n", b"#OUTPUT,6,1,1.00\r\n"]
    assert session.stats.coalesced == 2
    session.receive_data(b"~OUTPUT,5,1,10.00\r\n~OUTPUT,5,1,40.00\r\n", later)
    done = [e for e in session.events_received() if isinstance(e, RequestDone)]
    assert done == [RequestDone(t, CommandStatus.CONFIRMED) for t in ("a", "b", "c", "d")]


def test_a_raise_between_two_sets_stops_coalescing() -> None:
    session, now = ready_session()
    session.submit(Request("blocker", output_set_level(6, 1), 6, expect_level_pct=1.0), now)
    session.submit(Request("a", output_set_level(5, 10), 5, expect_level_pct=10.0), now)
    session.submit(Request("r", output_action(5, OutputAction.START_RAISING), 5), now)
    session.submit(Request("b", output_set_level(5, 20), 5, expect_level_pct=20.0), now)
    written, _ = drive(session, now, now + 1)
    assert written == [b"#OUTPUT,6,1,1.00\r\n", b"#OUTPUT,5,1,10.00\r\n", b"#OUTPUT,5,2\r\n",
                       b"#OUTPUT,5,1,20.00\r\n"]


def test_command_past_its_deadline_expires_unwritten() -> None:
    session, now = ready_session()
    session.submit(Request("blocker", output_set_level(6, 1), 6, expect_level_pct=1.0), now)
    session.submit(Request("late", output_set_level(5, 1), 5, 1.0, deadline=now + 0.01), now)
    written, _ = drive(session, now, now + 1)
    assert written == [b"#OUTPUT,6,1,1.00\r\n"]
    assert RequestDone("late", CommandStatus.EXPIRED, "the deadline passed before the command "
                       "reached the repeater") in session.events_received()


def test_silence_for_two_liveness_intervals_loses_the_link() -> None:
    session, now = ready_session(liveness_interval_s=10.0)
    written, now = drive(session, now, now + 10.0)
    assert written == [b"?MONITORING,3\r\n"]
    session.handle_timeout(now + 20.0)
    assert isinstance(session.events_received()[-1], LinkLost)
    assert session.phase is Phase.CLOSED


def test_probe_finding_monitoring_off_reconfigures() -> None:
    session, now = ready_session(liveness_interval_s=10.0)
    drive(session, now, now + 10.0)
    session.receive_data(b"~MONITORING,3,2\r\n", now + 10.0)
    assert session.phase is Phase.CONFIGURE
    written, later = drive(session, now + 10.0, now + 11.0)
    assert written == [*CONFIG, b"?OUTPUT,5,1\r\n", b"?MONITORING,3\r\n"]
    session.receive_data(b"~MONITORING,3,1\r\n", later)
    assert session.events_received()[-1] == LinkReady(is_resync=True)


def test_close_fails_every_outstanding_command() -> None:
    session, now = ready_session()
    session.submit(Request("a", output_set_level(5, 10), 5, expect_level_pct=10.0), now)
    session.submit(Request("b", output_set_level(6, 10), 6, expect_level_pct=10.0), now)
    session.close("link lost")
    assert sorted(e.token for e in session.events_received() if isinstance(e, RequestDone)) == [
        "a", "b"]
    session.submit(Request("c", output_set_level(5, 1), 5, expect_level_pct=1.0), now)
    assert session.events_received() == [RequestDone("c", CommandStatus.FAILED,
                                                     "the link to the repeater is down")]


def test_garbage_lines_are_counted_and_skipped() -> None:
    session, now = ready_session()
    session.receive_data(b"hello\r\n~OUTPUT,x\r\n#OUTPUT,1,1,5\r\n~DEVICE,30,2,3\r\n", now)
    assert session.events_received() == [ReportReceived(DeviceReport(30, 2, 3))]
    assert session.stats.garbage_lines == 3


def test_the_command_queue_is_bounded() -> None:
    session, now = ready_session(max_queued=3)
    for n in range(5):  # switches do not coalesce: each takes a place in the queue
        session.submit(Request(f"t{n}", output_action(10 + n, OutputAction.STOP), 10 + n), now)
    events = session.events_received()
    assert [e.token for e in events if isinstance(e, RequestDone)] == ["t4"]  # t0 is written
    refused = next(e for e in events if isinstance(e, RequestDone))
    assert refused.status is CommandStatus.FAILED and "already wait" in (refused.error or "")
