"""MetaRec core: datasets, cold-start splits, meta-learning algorithms, training, evaluation."""

# Ctrl-C while the ``metarec`` command starts (issue 11): this is the first project code the
# console script runs (``from core.cli import main`` imports this package first), so the handler
# goes in before anything else, using only modules the interpreter has already loaded (``_signal``
# is the built-in module under ``signal``; importing ``signal`` itself costs ~1 ms of exposure).
# ``core.cli.main`` replaces it (Ctrl-C then cancels a training cleanly). At exit, once the other
# exit handlers ran (this one was registered first, so it runs last), SIGINT is ignored: Python's
# shutdown puts the default action back (death by SIGINT) for its last milliseconds, and the
# command's work and its exit status are final by then. Only the command line gets any of this:
# the app, its training children and library users keep Python's default.
import os
import sys as _sys


def _is_metarec_command() -> bool:
    """``metarec ...`` (the console script) or ``python -m core.cli ...``."""
    argv0 = os.path.basename(_sys.argv[0]).lower() if _sys.argv and _sys.argv[0] else ""
    if argv0 in ("metarec", "metarec.exe", "metarec-script.py"):
        return True
    orig = getattr(_sys, "orig_argv", [])
    return any(a == "-m" and b == "core.cli" for a, b in zip(orig, orig[1:], strict=False))


if _is_metarec_command():
    import _signal

    try:
        _signal.signal(_signal.SIGINT, lambda signum, frame: os._exit(130))
    except (ValueError, OSError):  # not the main thread
        pass
    else:
        import atexit

        atexit.register(_signal.signal, _signal.SIGINT, _signal.SIG_IGN)
    del _signal

# Same seed, same numbers on CPU: with MKL's dynamic threading a busy machine gets fewer BLAS
# threads for some calls, so float sums change order and results move in the 8th digit (seen
# under load: tests/test_training.py::test_same_seed_same_numbers_on_cpu). MKL reads this when it
# first runs, so it holds whenever core is imported before the first matrix product.
os.environ.setdefault("MKL_DYNAMIC", "FALSE")
# ... and MKL's conditional numerical reproducibility: the same results whatever the memory
# alignment of the buffers (which changes from run to run in a long-lived process).
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

__version__ = "0.1.0"
