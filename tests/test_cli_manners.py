"""CLI manners: one line per error, --version, help for every option, true algorithm defaults,
--overwrite, one device check, quiet Ctrl-C and closed pipes, progress bars only on a terminal,
and a --help that does not import torch."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_fixtures import movielens_folder

from core.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
SYNTH = "synthetic:n_users=120,n_items=80,seed=3"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("METAREC_DEBUG", None)
    return env


def _metarec(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core.cli", *args], cwd=kw.pop("cwd", ROOT),
                            env=_env(), stdout=kw.pop("stdout", subprocess.PIPE),
                            stderr=subprocess.PIPE, text=True, **kw)


def test_version_and_help_do_not_import_torch():
    code = ("import sys\nfrom core.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'pandas', 'numpy', 'pyarrow') if m in sys.modules]\n"
            "print('HEAVY', heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True,
                         text=True, check=True).stdout
    assert "usage: metarec" in out and "HEAVY []" in out
    proc = subprocess.run([sys.executable, "-m", "core.cli", "--version"], cwd=ROOT, env=_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("metarec ")


def test_every_option_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for verb, p in sub.choices.items():
        for action in p._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{verb} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, missing
    assert {c.dest for c in sub._choices_actions} == set(sub.choices)  # every verb described
    assert all(c.help for c in sub._choices_actions)


def test_algorithms_verbose_shows_true_training_defaults(capsys):
    from core.algorithms import ALGORITHMS

    assert main(["algorithms", "-v"]) == 0
    out = capsys.readouterr().out
    blocks = {b.split()[0]: b for b in out.split("\n\n") if b.strip() and not b.startswith(" ")}
    for name, cls in ALGORITHMS.items():
        for key, value in getattr(cls, "train_defaults", {}).items():
            if getattr(cls, "trainable", True):
                assert f"{key}={value!r}" in blocks[name], (name, key)


def test_errors_are_one_line_without_class_names(tmp_path, capsys):
    cases = [
        ["train", "--dataset", SYNTH, "--algorithm", "bogus", "--out", str(tmp_path / "a")],
        ["train", "--dataset", SYNTH, "--set", "nope=1", "--out", str(tmp_path / "b")],
        ["train", "--dataset", SYNTH, "--set", "epochs", "--out", str(tmp_path / "c")],
        ["inspect", str(tmp_path / "missing.csv")],
        ["evaluate", str(tmp_path)],
        ["inspect", SYNTH, "--columns", "user:a;item:b"],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"metarec {argv[0]}: "), (argv, err)
        for word in ("Traceback", "Error:", "RunError", "ConfigError", "DatasetError", "KeyError"):
            assert word not in err, (argv, err)


def test_unexpected_errors_are_one_line_too(monkeypatch, capsys):
    import core.cli.data_verbs as verbs

    def boom(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(verbs, "cmd_datasets", boom)
    assert main(["datasets"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "METAREC_DEBUG=1" in err and "Traceback" not in err


def test_device_check_is_one_clear_line_for_every_verb(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    run = tmp_path / "run"
    assert main(["train", "--dataset", SYNTH, "--algorithm", "item_bias", "--out", str(run),
                 "-q"]) == 0
    (tmp_path / "r.csv").write_text("user,item,rating\na,1,4\n")
    (tmp_path / "q.csv").write_text("user,item\na,2\n")
    capsys.readouterr()
    for argv in (["train", "--dataset", SYNTH, "--out", str(tmp_path / "x")],
                 ["evaluate", str(run)],
                 ["recommend", str(run), "--ratings", str(tmp_path / "r.csv")],
                 ["predict", str(run), "--support", str(tmp_path / "r.csv"), "--query",
                  str(tmp_path / "q.csv"), "--out", str(tmp_path / "p.csv")]):
        assert main([*argv, "--device", "cuda"]) == 2, argv
        captured = capsys.readouterr()
        assert captured.err.count("\n") == 1 and "device 'cuda:0' is not available" in captured.err
        assert "Traceback" not in captured.err and not captured.out
    assert not (tmp_path / "x").exists()  # nothing was written before the check


def test_overwrite_an_existing_run_and_refuse_a_foreign_folder(tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "--dataset", SYNTH, "--algorithm", "item_bias", "--out", str(run), "-q"]
    assert main(argv) == 0
    assert main(argv) == 2
    assert "already holds a run" in capsys.readouterr().err
    (run / ".weights.pt.abc.tmp").write_bytes(b"half")
    assert main([*argv, "--overwrite"]) == 0
    assert not (run / ".weights.pt.abc.tmp").exists() and (run / "summary.json").exists()

    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"meow")
    argv = ["train", "--dataset", SYNTH, "--algorithm", "item_bias", "--out", str(foreign), "-q"]
    assert main(argv) == 2
    assert "non-empty folder that is not a run" in capsys.readouterr().err
    assert sorted(p.name for p in foreign.iterdir()) == ["cat.jpg"]
    assert main([*argv, "--overwrite"]) == 0
    assert (foreign / "cat.jpg").read_bytes() == b"meow" and (foreign / "config.json").exists()


def test_progress_bar_only_on_a_terminal(tmp_path, capsys, monkeypatch):
    argv = ["train", "--dataset", SYNTH, "--algorithm", "fomaml", "--epochs", "2",
            "--set", "meta_batch_size=8"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "step/s" not in err and "it/s" not in err
    assert "epoch 1:" in err and "epoch 2:" in err  # one line per epoch instead
    assert err.count("\n") < 10

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    assert "\r" in capsys.readouterr().err  # the live bar


def test_ctrl_c_during_imports_and_verbs_exits_130_quietly(monkeypatch, capsys):
    import importlib

    def interrupted(name, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib, "import_module", interrupted)
    assert main(["algorithms"]) == 130
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "KeyboardInterrupt" not in captured.err


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
def test_ctrl_c_while_training_exits_130_without_traceback(tmp_path):
    folder = movielens_folder(tmp_path)
    proc = _metarec("train", "--dataset", str(folder), "--algorithm", "maml", "--epochs", "1000",
                    "--out", str(tmp_path / "run"), stdout=subprocess.DEVNULL)
    # wait for the first line the trainer writes (it is working), then press Ctrl-C
    first = proc.stderr.readline()
    assert first, "no output from metarec train"
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 130
    text = first + rest
    assert "Traceback" not in text and not any(
        line.startswith("KeyboardInterrupt") for line in text.splitlines()), text


@pytest.mark.skipif(os.name != "posix", reason="closed pipes")
def test_a_closed_pipe_ends_quietly():
    proc = _metarec("algorithms", "-v")
    proc.stdout.close()  # the reader went away (`metarec algorithms -v | head -0`)
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert err == "", err


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=120)


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to itself")
def test_ctrl_c_right_after_core_is_imported_exits_130_quietly_in_the_command_only():
    # A Ctrl-C landing just after the package's first statement (the command is still importing).
    sigint_now = "import os, signal; os.kill(os.getpid(), signal.SIGINT); import time; time.sleep(60)"
    as_command = _python(f"import sys; sys.argv[0] = '/bin/metarec'; import core; {sigint_now}")
    assert as_command.returncode == 130
    assert as_command.stderr == ""
    as_library = _python(f"import core; {sigint_now}")  # the app, tests, notebooks: Python's way
    assert "KeyboardInterrupt" in as_library.stderr


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to itself")
def test_ctrl_c_while_the_command_shuts_down_is_quiet():
    # Registered before core is imported, so it runs after core's exit hook: the interpreter's last
    # milliseconds, where Python would otherwise die by SIGINT.
    result = _python("import atexit, os, signal, sys; atexit.register(os.kill, os.getpid(), "
                     "signal.SIGINT); sys.argv[0] = '/bin/metarec'; import core; print('done')")
    assert (result.returncode, result.stdout, result.stderr) == (0, "done\n", "")


def test_main_disarms_ctrl_c_before_leaving(monkeypatch):
    # Inside a verb Ctrl-C raises KeyboardInterrupt (training writes 'cancelled'); once main is
    # leaving, the command's handler exits at once instead of raising through the exit path.
    from core.cli import app

    seen = []
    monkeypatch.setattr(app, "_is_script", lambda: True)
    monkeypatch.setattr(app, "_set_sigint", lambda handler: seen.append(handler))
    monkeypatch.setattr(app, "_main", lambda argv: seen.append(app._armed) or 0)
    assert main([]) == 0
    assert seen == [app._interrupt, True] and app._armed is False
    exits = []
    monkeypatch.setattr(os, "_exit", exits.append)
    app._interrupt(signal.SIGINT, None)
    assert exits == [130]


def test_ctrl_c_during_an_import_exits_at_once(monkeypatch, tmp_path):
    # A KeyboardInterrupt raised inside a C extension's import becomes an ImportError (numpy) or
    # an abort (pybind11 in torch): while importing, the command exits 130 instead of raising.
    from core.cli import app

    exits = []
    monkeypatch.setattr(os, "_exit", exits.append)
    monkeypatch.setattr(app, "_armed", True)
    (tmp_path / "interrupted_import.py").write_text(
        "import signal, sys\nfrom core.cli import app\n"
        "app._interrupt(signal.SIGINT, sys._getframe())\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    importlib.import_module("interrupted_import")
    assert exits == [130]
    with pytest.raises(KeyboardInterrupt):  # outside an import: the verb sees KeyboardInterrupt
        app._interrupt(signal.SIGINT, sys._getframe())
