"""`python -m tools.relay`: the same as `hubd-relay`."""

from tools.relay.cli import main

main()
