"""``python -m metarec_gui``: launch the app."""

from .app import main

if __name__ == "__main__":  # training processes are spawned: they must not start the app
    raise SystemExit(main())
