"""`python -m orderbridge`: the same as the `orderbridge` command."""

from orderbridge.scheduler.cli import main

main()
