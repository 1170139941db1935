"""`python -m hubd` is the `hubd` command."""

from hubd.cli import main

main()
