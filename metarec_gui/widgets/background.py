"""Kept for imports of older code: the one background mechanism lives in ``metarec_gui.workers``."""

from ..workers import Background

__all__ = ["Background"]
