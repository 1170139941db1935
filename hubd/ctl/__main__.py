"""`python -m hubd.ctl`: the same as `hubctl`."""

from hubd.ctl.cli import main

main()
