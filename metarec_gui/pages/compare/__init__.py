"""Compare page: runs table (``runs_table.py``), K-shot tab (``kshot.py``), side-by-side top-10
(``toplists.py``), and the page that holds them (``page.py``)."""

from .page import ComparePage

__all__ = ["ComparePage"]
