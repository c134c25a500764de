"""`python -m lamina run script.py [args]`: runs a Keras 2 script on lamina (see `lamina.compat.cli`)."""

import sys

from lamina.compat.cli import main

if __name__ == "__main__":
    sys.exit(main())
