"""`python -m app`: the one command-line entry point."""
import sys

from app.cli import main

sys.exit(main())
