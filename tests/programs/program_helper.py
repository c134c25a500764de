"""A module beside `argv_exit.py`: a script run by `lamina run` finds the modules in its own folder."""

GREETING = "found beside the script"
