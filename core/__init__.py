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

# Same seed, same numbers on CPU. The 8th-digit differences between same-seed runs came from
# atomic adds in the embedding gradients (fixed for each run by core.devices.reproducible_numerics).
# These two keep MKL from adding variation of its own: it uses exactly the threads torch asks for
# (no dynamic reduction). MKL reads them when it first runs, so they hold whenever core is
# imported before the first matrix product.
os.environ.setdefault("MKL_DYNAMIC", "FALSE")
# ... and its conditional numerical reproducibility gives the same results whatever the memory
# alignment of the buffers.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")
# OpenMP threads that wait at the end of each parallel region sleep instead of spinning. Meta-
# training runs thousands of small parallel ops; when other work shares the cores, spinning
# threads burn the time slices of the ones they wait for: `metarec train` (default) took 17-49 s
# and once 168 s instead of 8-12 s beside a 2-thread job on 2 cores (benchmarks/bench_contention.py;
# docs/benchmarks.md). Costs ~10 % on an idle machine. The user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
