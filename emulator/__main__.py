"""`python -m emulator`."""

from emulator.cli import main

main()
