"""``python -m metarec_gui``: launch the app."""

from .app import main

raise SystemExit(main())
