"""``metarec``: the headless command line. Same code paths as the app.

Errors the user can fix (bad files, unknown settings, missing devices) print one clear line and
exit with status 2; Ctrl-C exits with 130 and a closed pipe with 141, both without a traceback.
The verbs live in ``data_verbs`` (datasets, inspect, algorithms), ``train_verbs`` (train,
evaluate, compare) and ``user_verbs`` (predict, recommend); ``app`` holds the parser and
``main``, and imports nothing heavy so that ``metarec --help`` answers at once.
"""

import contextlib as _contextlib
import os as _os
import signal as _signal
import sys as _sys

if _os.path.basename(_sys.argv[0] or "").startswith("metarec"):
    # The console script: a Ctrl-C before main() runs (while Python imports) exits quietly too.
    with _contextlib.suppress(ValueError, OSError):
        _signal.signal(_signal.SIGINT, lambda signum, frame: _os._exit(130))

from .app import EXIT_USAGE, build_parser, main  # noqa: E402
from .common import CliError  # noqa: E402

__all__ = ["EXIT_USAGE", "CliError", "build_parser", "main"]
