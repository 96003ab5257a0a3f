"""``metarec``: the headless command line. Same code paths as the app.

Errors the user can fix (bad files, unknown settings, missing devices) print one clear line and
exit with status 2; Ctrl-C exits with 130 and a closed pipe with 141, both without a traceback.
The verbs live in ``data_verbs`` (datasets, inspect, algorithms; the latter's layout in
``algorithm_help``), ``train_verbs`` (train, evaluate, compare) and ``user_verbs`` (predict,
recommend); ``app`` holds the parser and ``main``, and imports nothing heavy so that
``metarec --help`` answers at once.
"""

# A Ctrl-C before main() runs (while Python imports) exits 130 quietly: core/__init__.py installs
# that handler as the first thing the ``metarec`` command runs.
from .app import EXIT_USAGE, build_parser, main
from .common import CliError

__all__ = ["EXIT_USAGE", "CliError", "build_parser", "main"]
