"""``python -m tausestack`` runs the command line."""

from .cli import main

main()
