"""Local rules: typed rule data, a pure evaluator and an engine that owns timers.

The rule language (YAML; see examples/rules/ for working files)
----------------------------------------------------------------

A rules file is a list of rules, or a mapping with ``rules:`` and ``scenes:``. Every trigger,
condition and action is a mapping with a ``kind``. Durations are seconds (``90``) or text
(``90s``, ``2m``, ``1h30m``, ``500ms``, ``0:02:00``); times of day are local ``"HH:MM[:SS]"``
(quote them: YAML 1.1 reads 07:30 as a number); weekdays are ``mon`` .. ``sun``.

Devices are named by id (``virtual:1``) or unique name (``Front door``, any case). Attributes
are qualified (``contact.is_open``, ``level.level_pct``) or short (``is_open``, ``level_pct``,
``on``) when the device has exactly one attribute of that name; commands likewise
(``switch.on`` or ``on``). Values are checked against the vocabulary of hubd.core.model. A rule
naming a device the hub does not know (yet) is kept disabled with the reason, and enabled when
the device joins.

Rule fields: ``id`` (required, stable), ``name``, ``description``, ``enabled``, ``mode``
(single | restart | queued | parallel; default single), ``max_runs`` (queued/parallel, default
10), ``triggers`` (at least one), ``conditions`` (all must hold), ``actions``.

Triggers (each may carry an ``id``, used by the ``trigger`` condition; default: its index):

- ``state``: device, attribute, to, from, not_to, not_from (a value or a list), for, origin
- ``numeric``: device, attribute, above, below, hysteresis, for, origin — fires once when the
  value enters (above, below); fires again only after leaving by more than ``hysteresis``
- ``button``: device, button, action (press | release | hold | multi_tap), count, origin
- ``time``: at, weekdays — local time with DST (a skipped time fires after the jump, a
  repeated one once)
- ``sun``: event (sunrise | sunset | dawn | dusk), offset (signed), weekdays
- ``interval``: every
- ``availability``: device, to (online | offline), for (grace period)
- ``hub_started``

``origin`` filters on who caused the event: physical, digital, cloud, system, rule, api, or an
exact ``rule:<id>``. A pending ``for`` is dropped when the state stops matching.

Conditions: ``state`` (device, attribute, state, for), ``numeric`` (device, attribute, above,
below), ``time`` (after, before — may cross midnight — weekdays), ``weekday`` (weekdays),
``sun`` (after, after_offset, before, before_offset), ``mode`` (mode: a name or a list),
``trigger`` (id), and ``and`` / ``or`` / ``not`` (conditions).

Actions: ``command`` (device, command, args, transition), ``scene`` (scene), ``delay``
(duration), ``wait`` (trigger, timeout, on_timeout: continue | stop), ``if`` (conditions, then,
else), ``choose`` (options: [{conditions, actions}], default), ``repeat`` (count ≤ 1000,
actions, until), ``set_mode`` (mode), ``stop`` (reason), ``notify`` (message, level: info |
warning | alert). A failed command is recorded in the trace and the run goes on.

Scenes: ``{name, transition, states: {Device: {attribute: value, ...}, ...}}``; applying one
sends the commands that set those states (switch.on → on/off, level_pct → level.set, ...).

The pieces
----------

``rules.parse`` (YAML → ``rules.model`` with file:line:field errors), ``rules.resolve``
(references → ids), ``rules.evaluate`` (pure matching and compiled conditions),
``rules.engine`` (``RuleEngine``, the facade: events, timers, persistence, traces, dry runs),
``rules.ruleset`` (the loaded rules: changing them one at a time, and which are on),
``rules.runner`` (the hot path: firing and running),
``rules.breaker`` (the storm breaker and its cool-downs), ``rules.sun`` (NOAA sun times),
``rules.schedule`` (local time and DST).
"""
