"""Local rules: typed rule data, a pure evaluator and an engine that owns timers."""
