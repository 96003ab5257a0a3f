"""Data page: sources (``sources.py``), the dataset summary (``summary.py``), the page (``page.py``)."""

from .page import DataPage
from .sources import SourcePanel, dataclass_specs, split_specs
from .summary import SummaryPanel

__all__ = ["DataPage", "SourcePanel", "SummaryPanel", "dataclass_specs", "split_specs"]
