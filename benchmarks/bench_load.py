"""Loading benchmark: the built-in dataset and a MovieLens-25M-sized ratings.csv.

The 25M-format data is synthetic (the real file cannot be shipped) but matches the real one in
everything the loader's cost depends on: 25,000,095 rows, 162,541 users, 62,423 movies with ids
up to 209,171, ratings 0.5..5 written as '4.0', 10-digit timestamps, rows sorted by user then
movie, a header, quoted titles with commas in movies.csv. It is generated once with numpy, in
chunks, written with pyarrow, and cached under --workdir.

Each measurement runs in a fresh Python process so the numbers include nothing cached and the
peak RSS (``ru_maxrss`` of the child) is the loader's own.

    python benchmarks/bench_load.py                       # built-in + 25M
    python benchmarks/bench_load.py --rows 1000000 5000000 # also a growth table
    python benchmarks/bench_load.py --profile              # where the 25M load spends its time
    python benchmarks/bench_load.py --rows 1000000 --no-full --generic
        # 1M only, also through the generic table reader (ids read as text, kept as written)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
FULL_ROWS = 25_000_095
FULL_USERS = 162_541
FULL_MOVIES = 62_423
MAX_MOVIE_ID = 209_171
# Share of each half-star value 0.5, 1.0, ..., 5.0 in the real MovieLens 25M.
RATING_SHARES = np.array([1.57, 3.12, 1.60, 6.64, 5.06, 19.50, 12.58, 26.59, 8.65, 14.69])
GENRES = [
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
]  # fmt: skip
FORMAT_VERSION = 1

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from core.data import load_dataset
t1 = time.perf_counter()
ds = load_dataset(sys.argv[1])
t2 = time.perf_counter()
hwm = None
try:
    with open("/proc/self/status") as f:
        hwm = next(int(l.split()[1]) / 1024 for l in f if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(json.dumps({
    "import_s": t1 - t0,
    "load_s": t2 - t1,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "vm_hwm_mb": hwm,
    "ratings": ds.n_ratings, "users": ds.n_users, "items": ds.n_items,
}))
"""

PROFILE_CHILD = r"""
import cProfile, pstats, resource, sys, time
from core.data import load_dataset
from core.data import build as build_module
from core.data import movielens
phases = {}
real_build = build_module.build_dataset
def timed_build(*args, **kwargs):
    t = time.perf_counter()
    out = real_build(*args, **kwargs)
    phases["build_dataset"] = time.perf_counter() - t
    return out
movielens.build_dataset = timed_build
t = time.perf_counter()
profile = cProfile.Profile()
profile.enable()
ds = load_dataset(sys.argv[1])
profile.disable()
total = time.perf_counter() - t
print(f"total {total:.2f} s, build_dataset {phases['build_dataset']:.2f} s, "
      f"read+convert {total - phases['build_dataset']:.2f} s, peak RSS "
      f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
"""


def _user_counts(rng: np.random.Generator, n_rows: int, n_users: int, n_movies: int) -> np.ndarray:
    """Ratings per user: at least 20 (as in MovieLens), long-tailed, summing exactly to n_rows."""
    floor = 20
    if n_rows < floor * n_users:
        raise SystemExit(f"--rows {n_rows} is too small for {n_users} users with 20 ratings each")
    cap = min(n_movies, 32_000) - floor
    weights = rng.lognormal(0.0, 1.2, n_users)
    extra = np.floor(weights / weights.sum() * (n_rows - floor * n_users)).astype(np.int64)
    extra = np.minimum(extra, cap)
    left = n_rows - floor * n_users - int(extra.sum())
    while left > 0:
        eligible = np.flatnonzero(extra < cap)
        pick = rng.choice(eligible, size=min(left, len(eligible)), replace=False)
        extra[pick] += 1
        left -= len(pick)
    return extra + floor


def generate(folder: Path, n_rows: int, seed: int = 25) -> None:
    """Write ratings.csv and movies.csv in the MovieLens 25M format (sizes scaled by n_rows)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    n_users = max(1, round(FULL_USERS * n_rows / FULL_ROWS))
    n_movies = FULL_MOVIES
    folder.mkdir(parents=True, exist_ok=True)
    movie_ids = np.sort(rng.choice(np.arange(1, MAX_MOVIE_ID + 1), n_movies, replace=False))
    popularity_rank = rng.permutation(n_movies)  # rank r -> movie index
    counts = _user_counts(rng, n_rows, n_users, n_movies)
    shares = RATING_SHARES / RATING_SHARES.sum()
    rating_text = pa.array([f"{0.5 * (i + 1):.1f}" for i in range(10)])
    schema = pa.schema(
        [
            ("userId", pa.int32()),
            ("movieId", pa.int32()),
            ("rating", pa.dictionary(pa.int8(), pa.string())),
            ("timestamp", pa.int64()),
        ]
    )
    tmp = folder / "ratings.csv.part"
    with open(tmp, "wb") as f:
        f.write(b"userId,movieId,rating,timestamp\n")
        writer = pacsv.CSVWriter(
            f, schema, write_options=pacsv.WriteOptions(include_header=False, quoting_style="none")
        )
        start = 0
        while start < n_users:
            stop = min(n_users, start + max(1, int(2_000_000 / counts.mean())))
            n = counts[start:stop]
            total = int(n.sum())
            owner = np.repeat(np.arange(stop - start, dtype=np.int64), n)
            first = np.repeat(np.concatenate([[0], np.cumsum(n)[:-1]]), n)
            room = np.repeat(n_movies - n + 1, n)
            # Distinct movies per user: sorted draws over a shrunken range plus their rank
            # (skewed towards popular ranks), then mapped to movie ids and sorted by id.
            draws = np.floor(room * rng.random(total) ** 2.5).astype(np.int64)
            key = owner * n_movies + draws
            key.sort()
            ranks = key - owner * n_movies + (np.arange(total) - first)
            movies = movie_ids[popularity_rank[ranks]].astype(np.int64)
            key = owner * (MAX_MOVIE_ID + 1) + movies
            key.sort()
            movies = (key - owner * (MAX_MOVIE_ID + 1)).astype(np.int32)
            user = (owner + start + 1).astype(np.int32)
            codes = rng.choice(10, size=total, p=shares).astype(np.int8)
            t0 = rng.integers(789_652_009, 1_560_000_000, stop - start)
            stamp = np.repeat(t0, n) + rng.integers(0, 15_000_000, total)
            batch = pa.record_batch(
                [
                    pa.array(user),
                    pa.array(movies),
                    pa.DictionaryArray.from_arrays(pa.array(codes), rating_text),
                    pa.array(stamp),
                ],
                schema=schema,
            )
            writer.write_batch(batch)
            start = stop
        writer.close()
    years = rng.integers(1902, 2020, n_movies)
    n_genres = rng.integers(1, 4, n_movies)
    genres = [
        "|".join(sorted(rng.choice(GENRES, k, replace=False))) if rng.random() > 0.01 else
        "(no genres listed)"
        for k in n_genres
    ]  # fmt: skip
    titles = [
        f"Movie {m}, The ({y})" if m % 7 == 0 else f"Movie {m} ({y})"
        for m, y in zip(movie_ids, years, strict=True)
    ]
    pd.DataFrame({"movieId": movie_ids, "title": titles, "genres": genres}).to_csv(
        folder / "movies.csv", index=False
    )
    tmp.replace(folder / "ratings.csv")
    (folder / "bench.json").write_text(
        json.dumps({"rows": n_rows, "users": n_users, "seed": seed, "version": FORMAT_VERSION})
    )


def zipped(workdir: Path, n_rows: int) -> Path:
    """The folder for ``n_rows`` zipped as GroupLens ships it (ml-25m.zip holding ml-25m/...)."""
    archive = workdir / f"ml-{n_rows}.zip"
    if archive.exists():
        return archive
    folder = dataset_folder(workdir, n_rows)
    print(f"zipping {folder} ...", file=sys.stderr, flush=True)
    tmp = archive.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("ratings.csv", "movies.csv"):
            zf.write(folder / name, f"ml-{n_rows}/{name}")
    tmp.replace(archive)
    return archive


def generic_file(workdir: Path, n_rows: int) -> str:
    """A link to the size's ratings.csv under another name, so the generic reader loads it."""
    link = workdir / f"generic-{n_rows}.csv"
    if not link.exists():
        link.symlink_to(dataset_folder(workdir, n_rows) / "ratings.csv")
    return str(link)


def text_id_file(workdir: Path, n_rows: int) -> str:
    """The size's ratings with ids written as 'u<id>' / 'm<id>' (every id column is text)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    path = workdir / f"textids-{n_rows}.csv"
    if not path.exists():
        table = pacsv.read_csv(dataset_folder(workdir, n_rows) / "ratings.csv")
        for name, prefix in (("userId", "u"), ("movieId", "m")):
            i = table.schema.get_field_index(name)
            text = pc.binary_join_element_wise(prefix, pc.cast(table.column(i), pa.string()), "")
            table = table.set_column(i, name, text)
        tmp = path.with_suffix(".part")
        pacsv.write_csv(table, tmp)
        tmp.replace(path)
    return str(path)


def _cached(folder: Path, n_rows: int) -> bool:
    marker = folder / "bench.json"
    if not marker.exists():
        return False
    info = json.loads(marker.read_text())
    return info.get("rows") == n_rows and info.get("version") == FORMAT_VERSION


def dataset_folder(workdir: Path, n_rows: int) -> Path:
    """The cached folder for ``n_rows`` ratings, generated on first use."""
    folder = workdir / f"ml-{n_rows}"
    if _cached(folder, n_rows):
        return folder
    t = time.perf_counter()
    print(f"generating {n_rows:,} ratings in {folder} ...", file=sys.stderr, flush=True)
    generate(folder, n_rows)
    print(f"  done in {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    return folder


def prepare(workdir: Path, sizes: list[int], with_zip: bool, generic: bool = False) -> None:
    """Generate missing data in a child process, so this process stays small.

    Linux carries a process's RSS high-water mark across exec into ``ru_maxrss``; a parent that
    had grown while generating 25M rows would inflate every child's measured peak.
    """
    missing = [n for n in sizes if not _cached(workdir / f"ml-{n}", n)]
    if generic:  # the text-id copies are written in the child too
        missing += [n for n in sizes if not (workdir / f"textids-{n}.csv").exists()]
    zip_missing = with_zip and not (workdir / f"ml-{FULL_ROWS}.zip").exists()
    if missing or zip_missing:
        subprocess.run(
            [sys.executable, __file__, "--workdir", str(workdir), "--generate-only",
             *(["--zip"] if zip_missing else []), *(["--generic"] if generic else []),
             "--rows", *map(str, sorted(set(missing)))],
            check=True,
        )  # fmt: skip


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(
                line.split(":", 1)[1].strip() for line in f if line.startswith("model name")
            )
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def run_child(code: str, target: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, "-c", code, target], cwd=REPO, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed for {target}:\n{done.stderr}")
    return done.stdout


def measure(target: str) -> dict:
    return json.loads(run_child(CHILD, target).strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/metarec-bench"))
    parser.add_argument(
        "--rows", type=int, nargs="*", default=[], help="also measure these sizes (growth table)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (best is reported)")
    parser.add_argument("--profile", action="store_true", help="profile the 25M load instead")
    parser.add_argument(
        "--zip", action="store_true", help="also load the 25M data from a .zip (streamed)"
    )
    parser.add_argument("--no-full", action="store_true", help="skip the 25M-row size")
    parser.add_argument(
        "--generic",
        action="store_true",
        help="also load each size's ratings.csv through the generic table reader (text ids)",
    )
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.generate_only:
        for n in args.rows:
            dataset_folder(args.workdir, n)
            if args.generic:
                text_id_file(args.workdir, n)
        if args.zip:
            zipped(args.workdir, FULL_ROWS)
        return
    sizes = sorted({*args.rows} | (set() if args.no_full else {FULL_ROWS}))
    prepare(args.workdir, sizes, args.zip, args.generic)

    if args.profile:
        print(run_child(PROFILE_CHILD, str(dataset_folder(args.workdir, FULL_ROWS))))
        return

    load_before = os.getloadavg()[0]
    rows = []
    for label, target, budget_s in (
        [("built-in movielens-small", "movielens-small", 1.0)]
        + [
            (f"MovieLens-25M format, {n:,} rows", str(dataset_folder(args.workdir, n)), None)
            for n in sizes
        ]
        + (
            [
                (f"generic table reader (ids as text), {n:,} rows", generic_file(args.workdir, n), None)
                for n in sizes
            ]
            + [
                (f"generic, non-numeric ids ('u123', 'm456'), {n:,} rows",
                 text_id_file(args.workdir, n), None)
                for n in sizes
            ]  # fmt: skip
            if args.generic
            else []
        )
        + (
            [
                (
                    "MovieLens-25M format, zipped (streamed)",
                    str(zipped(args.workdir, FULL_ROWS)),
                    None,
                )
            ]
            if args.zip
            else []
        )
    ):
        runs = [measure(target) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["load_s"])
        best["label"], best["budget_s"] = label, budget_s or 30.0
        times = sorted(r["load_s"] for r in runs)
        best["load_median_s"], best["load_worst_s"] = times[len(times) // 2], times[-1]
        best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)  # worst case over the runs
        best["vm_hwm_mb"] = max((r["vm_hwm_mb"] or 0.0) for r in runs) or None
        rows.append(best)
        print(f"  {label}: {best['load_s']:.2f} s, {best['peak_rss_mb']:.0f} MB", file=sys.stderr)

    print(f"\nMachine: {cpu_name()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; 1-min load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after (other processes share the cores)\n")  # fmt: skip
    print(
        f"| dataset | ratings | users | items | load (s), best / median / worst of {args.repeat} "
        "| target | peak RSS, ru_maxrss (MB) | VmHWM (MB) | import (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        target = f"< {r['budget_s']:g} s" + (", < 4 GB" if r["budget_s"] == 30.0 else "")
        print(
            f"| {r['label']} | {r['ratings']:,} | {r['users']:,} | {r['items']:,} | "
            f"{r['load_s']:.2f} / {r['load_median_s']:.2f} / {r['load_worst_s']:.2f} | "
            f"{target} | {r['peak_rss_mb']:.0f} | "
            f"{r['vm_hwm_mb'] or float('nan'):.0f} | {r['import_s']:.2f} |"
        )


if __name__ == "__main__":
    main()
