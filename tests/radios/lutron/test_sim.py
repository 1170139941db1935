"""The simulated repeater's engine, byte-exact and on a manual clock; its integration report."""

from hubd.core.clock import ManualClock
from radios.lutron.devices import parse_integration_report
from radios.lutron.settings import LutronKind
from radios.lutron.sim.demo import DEMO_DEVICES, DINING, LIVING_PICO, PORCH, demo_house
from radios.lutron.sim.engine import RepeaterEngine, SimSession
from radios.lutron.sim.report import integration_report


def logged_in(engine: RepeaterEngine) -> SimSession:
    session = engine.open_session("t", needs_login=True)
    assert session.data_to_send() == b"login: "
    session.receive_data(b"lutron\r\n")
    assert session.data_to_send() == b"password: "
    session.receive_data(b"integration\r\n")
    assert session.data_to_send() == b"\r\nGNET> "
    return session


def test_login_prompts_and_bad_password_byte_exact() -> None:
    engine = RepeaterEngine(demo_house())
    session = engine.open_session("t", needs_login=True)
    session.receive_data(b"\xff\xfd\x01lutron\r\nnope\r\n")
    assert session.data_to_send() == b"login: password: \r\nlogin: "
    assert engine.failed_logins == 1 and not session.is_logged_in


def test_queries_errors_and_prompt_byte_exact() -> None:
    engine = RepeaterEngine(demo_house())
    session = logged_in(engine)
    session.receive_data(b"?OUTPUT,20,1\r\n#OUTPUT,1234,1,100.00\r\n#OUTPUT,20,9\r\n"
                         b"#OUTPUT,20,1,120\r\n#OUTPUT,20,1,abc\r\n#OUTPUT,20\r\n#FOO,1\r\n")
    assert session.data_to_send() == (
        b"\r\n~OUTPUT,20,1,0.00\r\nGNET> \r\n~ERROR,2\r\nGNET> \r\n~ERROR,3\r\nGNET> "
        b"\r\n~ERROR,4\r\nGNET> \r\n~ERROR,5\r\nGNET> \r\n~ERROR,1\r\nGNET> \r\n~ERROR,6\r\nGNET> ")
    session.receive_data(b"#MONITORING,12,2\r\n?SYSTEM,9\r\n")
    assert session.data_to_send() == b"\r\n~ERROR,3\r\n"


def test_monitoring_is_per_session_and_fades_follow_the_clock() -> None:
    clock = ManualClock()
    engine = RepeaterEngine(demo_house(), clock=clock)
    watcher, other = logged_in(engine), logged_in(engine)
    watcher.receive_data(b"#MONITORING,12,2\r\n#MONITORING,5,1\r\n#MONITORING,3,1\r\n")
    watcher.data_to_send()
    other.receive_data(b"#OUTPUT,20,1,80,4\r\n")
    assert other.data_to_send() == b"\r\nGNET> "  # no zone monitoring on this session
    assert watcher.data_to_send() == b"~OUTPUT,20,1,80.00\r\n"
    clock.advance(1.0)
    other.receive_data(b"?OUTPUT,20,1\r\n")
    assert other.data_to_send() == b"\r\n~OUTPUT,20,1,20.00\r\nGNET> "
    clock.advance(3.0)
    assert engine.house.zones[DINING].level_at(clock.monotonic()) == 80.0
    engine.tap(LIVING_PICO, 2)
    assert watcher.data_to_send() == b"~DEVICE,30,2,3\r\n~DEVICE,30,2,4\r\n"
    assert other.data_to_send() == b""


def test_switch_zones_are_on_or_off_and_raise_stop_reports() -> None:
    clock = ManualClock()
    engine = RepeaterEngine(demo_house(), clock=clock)
    session = logged_in(engine)
    session.receive_data(b"#MONITORING,12,2\r\n#MONITORING,5,1\r\n#OUTPUT,23,1,30\r\n")
    assert session.data_to_send() == b"\r\n~OUTPUT,23,1,100.00\r\n"
    session.receive_data(b"#OUTPUT,20,2\r\n")
    clock.advance(1.0)
    session.receive_data(b"#OUTPUT,20,4\r\n")
    assert session.data_to_send() == b"~OUTPUT,20,1,20.00\r\n"
    assert engine.house.zones[PORCH].target == 100.0


def test_reboot_forgets_sessions_and_is_deaf_while_booting() -> None:
    clock = ManualClock()
    engine = RepeaterEngine(demo_house(), clock=clock)
    session = logged_in(engine)
    engine.reboot(boot_s=1.0)
    assert session.is_closed and engine.sessions == []
    fresh = engine.open_session("serial", needs_login=False)
    fresh.receive_data(b"?OUTPUT,20,1\r\n")
    assert fresh.data_to_send() == b""
    clock.advance(1.0)
    fresh.receive_data(b"?MONITORING,3\r\n")
    assert fresh.data_to_send() == b"~MONITORING,3,2\r\nGNET> "


def test_integration_report_round_trips_through_the_parser() -> None:
    parsed = {d.integration_id: d for d in parse_integration_report(
        integration_report(demo_house()))}
    for device in DEMO_DEVICES:
        got = parsed[device.integration_id]
        assert (got.kind, got.room) == (device.kind, device.room)
        if device.kind is not LutronKind.OCCUPANCY:
            assert (got.name, got.buttons) == (device.name, device.buttons)
    assert parsed[1].kind is LutronKind.KEYPAD and parsed[1].buttons == (1, 2)
    assert len(parsed) == len(DEMO_DEVICES) + 1
