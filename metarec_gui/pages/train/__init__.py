"""Train page: settings form (``form.py``), progress wording (``progress.py``), watched runs
(``watched.py``), and the page (``page.py``)."""

from .page import TrainPage, run_folder, watch_key

__all__ = ["TrainPage", "run_folder", "watch_key"]
