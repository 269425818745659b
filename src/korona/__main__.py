"""Run the korona CLI with `python -m korona`."""

from korona.cli import main

main()
