"""Hostile rule files: bounded, located errors, fast, and the other rules still load."""

import time
from pathlib import Path

from hubd.core.errors import ConfigError, HubError, RuleError
from rules.parse import load_rules_dir, parse_rules
from rules.yamlnode import MAX_DEPTH, Invalid, compose

GOOD = """\
- id: door
  triggers: [{kind: state, device: Front door, attribute: is_open, to: true}]
  actions: [{kind: command, device: Hall light, command: switch.on}]
"""


def _bomb(levels: int = 12) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels):
        refs = ",".join([f"*a{n - 1}"] * 9)
        lines.append(f"a{n}: &a{n} [{refs}]")
    return "\n".join(lines) + "\n"


def _nested_ifs(count: int) -> str:
    action = "{kind: command, device: Hall light, command: switch.on}"
    for _ in range(count):
        action = f"{{kind: if, conditions: [{{kind: mode, mode: home}}], then: [{action}]}}"
    return ("- id: deep\n  triggers: [{kind: hub_started}]\n"
            f"  actions: [{action}]\n")


def _problems(text: str) -> list[str]:
    started = time.perf_counter()
    rules, problems = parse_rules(text, "bad.yaml")
    assert time.perf_counter() - started < 5  # generous for a shared machine; ~10 ms alone
    assert rules == []
    return [str(p) for p in problems]


def test_an_alias_bomb_is_refused_with_its_line() -> None:
    problems = _problems(_bomb())
    assert len(problems) == 1
    assert problems[0].startswith("bad.yaml:")
    assert "aliases are expanded" in problems[0]


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    assert "its own anchor" in _problems("- &a [*a]\n")[0]


def test_deep_flow_nesting_is_a_located_error_not_a_recursion_error() -> None:
    problems = _problems("[" * 100 + "]" * 100 + "\n")
    assert len(problems) == 1
    assert problems[0].startswith("bad.yaml:1: [0][0][0]")
    assert problems[0].endswith(f"…: nested deeper than {MAX_DEPTH} levels")
    # Deeper still, libyaml (when PyYAML has it) stops first, with its own located error.
    problems = _problems("[" * 1024 + "]" * 1024 + "\n")
    assert len(problems) == 1 and problems[0].startswith("bad.yaml:1: ")
    assert "nest" in problems[0]


def test_250_nested_ifs_are_a_located_error() -> None:
    problems = _problems(_nested_ifs(250))
    assert len(problems) == 1
    assert problems[0].startswith("bad.yaml:3: [0].actions[0].then[0].then[0]")
    assert f"nested deeper than {MAX_DEPTH} levels" in problems[0]


def test_ten_nested_ifs_still_parse() -> None:
    rules, problems = parse_rules(_nested_ifs(10), "ok.yaml")
    assert problems == [] and [r.id for r in rules] == ["deep"]


def test_a_huge_text_is_refused_before_parsing(monkeypatch: object) -> None:
    import rules.yamlnode as yamlnode

    text = GOOD * 10
    setattr(yamlnode, "MAX_TEXT_CHARS", len(text) - 1)  # noqa: B010 (restored below)
    try:
        assert "larger than" in _problems(text)[0]
    finally:
        setattr(yamlnode, "MAX_TEXT_CHARS", 8 * 1024 * 1024)  # noqa: B010


def test_parse_errors_are_hub_errors() -> None:
    try:
        compose("[" * 100, "x.yaml")
    except Invalid as exc:
        assert isinstance(exc, RuleError) and isinstance(exc, ConfigError)
        assert isinstance(exc, HubError)
        assert exc.file == "x.yaml" and exc.line == 1
    else:
        raise AssertionError("not refused")


def test_a_bad_file_disables_only_its_own_rules(tmp_path: Path) -> None:
    (tmp_path / "a_bomb.yaml").write_text(_bomb())
    (tmp_path / "b_deep.yaml").write_text(_nested_ifs(250))
    (tmp_path / "c_good.yaml").write_text(GOOD)
    rules, problems = load_rules_dir(tmp_path)
    assert [r.id for r in rules] == ["door"]
    assert sorted(Path(p.file).name for p in problems) == ["a_bomb.yaml", "b_deep.yaml"]
