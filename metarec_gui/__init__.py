"""MetaRec desktop app: a thin PySide6 layer over ``core`` (see docs/ARCHITECTURE.md)."""

from core import __version__

__all__ = ["__version__"]
