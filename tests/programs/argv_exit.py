"""A script that reads its own arguments, imports a module beside it, and exits with the code it was given.

Run it with `lamina run tests/programs/argv_exit.py CODE WORD...`: it prints what `python argv_exit.py` would see.
"""

import json
import sys

import keras
import program_helper

print(json.dumps({"argv": sys.argv, "name": __name__, "helper": program_helper.GREETING, "keras": keras.__name__}))
sys.exit(int(sys.argv[1]))
