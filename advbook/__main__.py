"""Run the advbook command line: python -m advbook ..."""

from .build.cli import main

raise SystemExit(main())
