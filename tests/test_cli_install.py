"""A built wheel (what `pip install .` installs) carries the built-in dataset and the CLI.

The wheel is built from a copy of the source tree without build isolation, installed with
--no-deps into a fresh virtual environment that borrows this environment's site-packages
(torch, pandas, ...) through a .pth line, so nothing is downloaded. The fresh environment's
own copy of ``core`` comes first on sys.path: the test loads the data from the installed
package, not from this checkout.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "*.egg-info",
                                "__pycache__", ".pytest_cache", ".ruff_cache", "runs",
                                "bench_out", "tests", "docs", "benchmarks", "*.log")


def _site_packages() -> list[str]:
    return [p for p in site.getsitepackages() if p.startswith(sys.prefix)]


def test_wheel_ships_the_builtin_dataset_and_the_cli(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=IGNORE)
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(dist), str(src)], check=True,
                   capture_output=True, text=True)
    (wheel,) = dist.glob("metarec-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("ratings.csv.gz", "movies.csv.gz", "LICENSE.md"):
        assert f"core/resources/datasets/movielens-small/{name}" in names
    assert "core/cli/__main__.py" in names

    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=False, system_site_packages=False)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    fresh_site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    (fresh_site / "zz-borrowed-deps.pth").write_text("\n".join(_site_packages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                    "--no-index", "-q", str(wheel)], check=True, capture_output=True, text=True)

    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "METAREC_RESOURCES", "PYTHONHOME")}
    code = ("import core, core.paths\nfrom core.data import load_builtin\n"
            "d = load_builtin()\nprint(core.__file__)\nprint(core.paths.resources_dir())\n"
            "print(d.n_users, d.n_items, d.n_ratings)\n")
    out = subprocess.run([str(python), "-I", "-c", code], cwd=tmp_path, env=env, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    assert Path(out[0]).is_relative_to(env_dir) and Path(out[1]).is_relative_to(env_dir)
    assert out[2] == "671 9066 100004"

    metarec = bin_dir / ("metarec.exe" if os.name == "nt" else "metarec")
    proc = subprocess.run([str(metarec), "inspect", "movielens-small"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "100,004" in proc.stdout
