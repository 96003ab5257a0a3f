"""The parser and ``main``: errors printed once, Ctrl-C and closed pipes end quietly.

Nothing heavy is imported here (no torch, numpy or pandas): ``metarec --help`` answers at once,
and each verb imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys

from .common import CliError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141  # 128 + SIGPIPE, as a shell reports a command whose reader went away
DEBUG_ENV = "METAREC_DEBUG"

_SPLIT_HELP = "cold-start split (users, not ratings, are split; see docs/PROTOCOL.md)"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help with each option's default where it has a meaningful one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        meaningless = default is None or default is False or default == argparse.SUPPRESS
        if "default" not in text and not meaningless and action.option_strings \
                and action.nargs != 0:
            text += f" (default: {default})"
        return text


VALUE_OPTIONS_WITH_DASH = ("--scale",)  # values such as -10:10:0.05 start with '-'


def _join_dash_values(argv: list[str]) -> list[str]:
    """``--scale -10:10`` -> ``--scale=-10:10`` (argparse would read -10:10 as an option)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in VALUE_OPTIONS_WITH_DASH and i + 1 < len(argv) and argv[i + 1].startswith("-") \
                and argv[i + 1][1:2].isdigit():
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def _verb(name: str, func: str):
    """A verb's function, imported when the verb runs."""
    def run(args: argparse.Namespace) -> None:
        import importlib

        module, attr = func.rsplit(".", 1)
        getattr(importlib.import_module(f"{__package__}.{module}"), attr)(args)

    run.__name__ = name
    return run


def _add_device(s: argparse.ArgumentParser) -> None:
    s.add_argument("--device", default="cpu",
                   help="where to compute: cpu, cuda, cuda:N, mps or auto (checked first)")


def _add_dataset_columns(s: argparse.ArgumentParser) -> None:
    s.add_argument("--columns", metavar="ROLE=COL,...",
                   help="for a ratings/interaction table whose columns cannot be guessed: "
                        "user=COL,item=COL[,rating=COL][,timestamp=COL]")
    s.add_argument("--scale", metavar="MIN:MAX[:STEP]",
                   help="the rating scale, e.g. -10:10:0.05 (default: the format's, or "
                        "inferred from the ratings)")
    s.add_argument("--escape", metavar="CHAR",
                   help="escape character inside quoted fields, e.g. '\\' for Book-Crossing")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    p = argparse.ArgumentParser(
        prog="metarec", formatter_class=_Formatter,
        description="Meta-learning for cold-start recommendation: inspect data, train, "
                    "evaluate, compare, and recommend to new users.",
        epilog="Typical session:\n"
               "  metarec inspect movielens-small\n"
               "  metarec train --algorithm maml --out runs/maml\n"
               "  metarec evaluate runs/maml\n"
               "  metarec recommend runs/maml --ratings my_ratings.csv\n"
               "`metarec VERB --help` describes each verb.")
    p.add_argument("--version", action="version", version=f"metarec {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="VERB")

    s = sub.add_parser("datasets", help="list built-in datasets", formatter_class=_Formatter)
    s.set_defaults(func=_verb("datasets", "data_verbs.cmd_datasets"))

    s = sub.add_parser("inspect", help="summarise a dataset (or report what is wrong with it)",
                       formatter_class=_Formatter)
    s.add_argument("dataset", help="built-in name (movielens-small), a MovieLens folder or .zip, "
                   "a ratings/interaction file (CSV, TSV, Parquet, JSON lines), or "
                   "synthetic[:key=value,...]")
    s.add_argument("--seed", type=int, default=0, help="split seed for the user counts")
    _add_dataset_columns(s)
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
    s.set_defaults(func=_verb("inspect", "data_verbs.cmd_inspect"))

    s = sub.add_parser("algorithms", help="list algorithms and their settings",
                       formatter_class=_Formatter)
    s.add_argument("names", nargs="*", metavar="NAME",
                   help="show these algorithms in full: description, every setting with its "
                        "default, range or choices, and help (default: list them all briefly)")
    s.add_argument("-v", "--verbose", action="store_true",
                   help="every algorithm in full, with the defaults it really trains with")
    s.set_defaults(func=_verb("algorithms", "data_verbs.cmd_algorithms"))

    s = sub.add_parser("train", help="meta-train an algorithm into a run folder",
                       formatter_class=_Formatter)
    s.add_argument("--dataset", default="movielens-small",
                   help="what to train on (as for `metarec inspect`)")
    _add_dataset_columns(s)
    s.add_argument("--algorithm", default=None,
                   help="algorithm name (`metarec algorithms`; default: the app's default)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="a hyperparameter or training setting, repeatable "
                        "(`metarec algorithms -v` lists them)")
    s.add_argument("--preset", help="a named preset of the algorithm (e.g. melu's 'paper')")
    s.add_argument("--epochs", type=int, help="meta-epochs (default: the algorithm's own)")
    _add_device(s)
    s.add_argument("--seed", type=int, default=0, help="training seed")
    g = s.add_argument_group("split", _SPLIT_HELP)
    g.add_argument("--split-seed", type=int, default=0, help="which users are cold")
    g.add_argument("--query-size", type=int,
                   help="query ratings per cold user (default 10)")
    g.add_argument("--max-support", type=int,
                   help="largest support K evaluated; a cold user needs query-size + "
                        "max-support ratings (default 20)")
    g.add_argument("--min-ratings", type=int,
                   help="leave out users with fewer ratings (default: keep all)")
    g.add_argument("--val-fraction", type=float, help="share of users for validation (default 0.1)")
    g.add_argument("--test-fraction", type=float, help="share of users for test (default 0.1)")
    s.add_argument("--out", help="run folder (default runs/<time>-<algorithm>)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace the run in --out, or write into a non-empty folder")
    s.add_argument("-q", "--quiet", action="store_true",
                   help="no progress and no log lines, only the result")
    s.set_defaults(func=_verb("train", "train_verbs.cmd_train"))

    s = sub.add_parser("evaluate", help="cold-start metrics of a run at several K",
                       formatter_class=_Formatter)
    s.add_argument("run", help="a run folder")
    s.add_argument("--k", default=None,
                   help="support sizes K, comma-separated, at most the split's max support "
                        "(default: 1,2,5,10,20 up to that)")
    s.add_argument("--role", default="test", choices=["test", "val"],
                   help="which cold users: test or validation")
    _add_device(s)
    s.add_argument("--recompute", action="store_true", help="ignore the cached evaluation")
    s.add_argument("--inner-steps", metavar="N,...",
                   help="also an inner-steps curve, e.g. 0,1,2,5,10")
    s.add_argument("--steps-k", type=int, default=10, help="support size K for --inner-steps")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=_verb("evaluate", "train_verbs.cmd_evaluate"))

    s = sub.add_parser("predict", help="predict ratings of new users given a few of theirs",
                       formatter_class=_Formatter)
    s.add_argument("run", help="a run folder")
    s.add_argument("--support", required=True,
                   help="CSV user,item,rating: each new user's known ratings (item = id or title)")
    s.add_argument("--query", required=True, help="CSV user,item: the items to predict")
    s.add_argument("--out", required=True, help="CSV written: user,item,title,prediction")
    s.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    s.add_argument("--user-feature", action="append", metavar="FIELD=VALUE",
                   help="a new user's feature, e.g. gender=F (repeatable; others unknown)")
    _add_device(s)
    s.set_defaults(func=_verb("predict", "user_verbs.cmd_predict"))

    s = sub.add_parser("recommend", help="top-N for new users, beside the un-adapted ranking",
                       formatter_class=_Formatter)
    s.add_argument("run", help="a run folder")
    s.add_argument("--ratings", required=True,
                   help="CSV item[,rating][,user]: item = the dataset's item id or a title; "
                        "with a user column, top-N for every user in it")
    s.add_argument("--top", type=int, default=20, help="how many items per user")
    s.add_argument("--min-ratings", type=int,
                   help="candidates need this many ratings from training users "
                        "(0 = every item; default: the recommender's, 10)")
    s.add_argument("--user-feature", action="append", metavar="FIELD=VALUE",
                   help="the new user's feature, e.g. gender=F (repeatable; others unknown)")
    s.add_argument("--skip-unknown", action="store_true",
                   help="ignore items that match no id or title (default: refuse the file)")
    s.add_argument("--out", help="also write CSV user,rank,item,score,title")
    s.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    _add_device(s)
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=_verb("recommend", "user_verbs.cmd_recommend"))

    s = sub.add_parser("compare", help="runs side by side (their test metrics)",
                       formatter_class=_Formatter)
    s.add_argument("runs", nargs="+", help="run folders")
    s.add_argument("--k", default="5,10,20", help="support sizes K, comma-separated")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=_verb("compare", "train_verbs.cmd_compare"))
    return p


# ------------------------------------------------------------------------------ errors
def _user_error_types() -> tuple[type[BaseException], ...]:
    """Exception classes whose message is meant for the user. Looked up among the modules
    already imported: an error of a module never imported cannot have been raised."""
    types: list[type[BaseException]] = [CliError]
    for module, names in (("core.data.errors", ("DatasetError",)),
                          ("core.config", ("ConfigError",)),
                          ("core.devices", ("DeviceError",)),
                          ("core.runs", ("RunError",)),
                          ("core.run_schema", ("RunSchemaError", "SchemaError"))):
        mod = sys.modules.get(module)
        for name in names:
            cls = getattr(mod, name, None) if mod is not None else None
            if isinstance(cls, type) and issubclass(cls, BaseException):
                types.append(cls)
    return tuple(types)


def _message(exc: BaseException) -> str:
    text = getattr(exc, "message", None)
    if not isinstance(text, str) or not text:
        text = str(exc.args[0]) if len(exc.args) == 1 else str(exc)
    return text.strip()


def _quiet_exit(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    os._exit(EXIT_INTERRUPTED)


_armed = False  # while a verb runs: Ctrl-C raises KeyboardInterrupt (a training writes 'cancelled')


def _interrupt(signum, frame) -> None:
    """SIGINT of the ``metarec`` command: KeyboardInterrupt while a verb runs (a training writes
    its summary as cancelled), else exit 130 at once. ``main`` disarms with a plain global store,
    which Python never interrupts to run a signal handler, so a second Ctrl-C while ``main`` is
    leaving cannot escape as a traceback. During an import the process exits at once too: a
    KeyboardInterrupt inside a C extension's import came out as numpy's "Importing the numpy
    C-extensions failed" ImportError (exit 1) and, inside torch's, as pybind11's
    ``std::terminate`` (abort, exit 134) in benchmarks/ctrlc_trials.py."""
    if _armed and not _importing(frame):
        raise KeyboardInterrupt
    _quiet_exit(signum, frame)


def _importing(frame) -> bool:
    """Whether ``frame`` (where the signal handler interrupted) is inside an import."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _is_script() -> bool:
    return os.path.basename(sys.argv[0] or "").startswith("metarec") or bool(
        getattr(sys.modules.get("__main__"), "__spec__", None)
        and sys.modules["__main__"].__spec__.name == "core.cli.__main__")


def _set_sigint(handler) -> None:
    with contextlib.suppress(ValueError, OSError):  # not the main thread
        signal.signal(signal.SIGINT, handler)


def _exit_now(code: int) -> None:
    """Exit at once after an interrupt (the run is already closed as cancelled). A normal exit
    could still end by SIGINT: an interrupt that passed through native code (e.g. pybind11's
    exec inside torch) marks the interpreter 'interrupted', and it kills itself with SIGINT
    when it finalizes, so the shell sees 'killed by SIGINT' instead of 130."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _stdout_gone() -> int:
    """The reader of stdout went away (``| head``): stop writing, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return EXIT_PIPE


def main(argv: list[str] | None = None) -> int:
    global _armed
    script = _is_script()
    try:
        if script:
            _armed = True
            _set_sigint(_interrupt)
        return _main(argv)
    except KeyboardInterrupt:
        _armed = False  # first: a store, not a call (no signal handler runs before it)
        if script:
            _exit_now(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _armed = False
        return _stdout_gone()
    finally:
        _armed = False  # a Ctrl-C from here on exits 130 at once (while the interpreter shuts down too)
        if script:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                _stdout_gone()
            except (OSError, ValueError):
                pass


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(_join_dash_values(list(sys.argv[1:] if argv is None else argv)))
    verb = f"metarec {args.command}"
    try:
        args.func(args)
        sys.stdout.flush()
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as exc:  # noqa: BLE001 - every error ends as one line, never a traceback
        if isinstance(exc, _user_error_types()):
            print(f"{verb}: {_message(exc)}", file=sys.stderr)
            return EXIT_USAGE
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"{verb}: unexpected error ({type(exc).__name__}: {_message(exc)}); this is a "
              f"bug: please report it with the command line ({DEBUG_ENV}=1 shows the "
              "traceback)", file=sys.stderr)
        return 1
    return 0
