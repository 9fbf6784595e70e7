"""Run the advbook command line: python -m advbook ..."""

from .cli import main

raise SystemExit(main())
