"""Allows `python -m threadline`."""
from threadline.cli import main

raise SystemExit(main())
