"""``metarec algorithms [NAME...] [-v]``: the list of algorithms, and each one in full.

In full: the description, presets, the training defaults the algorithm overrides, and a table
of its settings (name, default, allowed values) with each setting's help below it, indented and
wrapped to the terminal width (100 columns when the output is not a terminal), so a long
default or a long help text never pushes the other columns about.
"""

from __future__ import annotations

import difflib
import shutil
import textwrap
from collections.abc import Iterable
from typing import Any

from .common import CliError

FALLBACK_COLUMNS = 100
MIN_COLUMNS = 40
INDENT = "    "  # description, presets, the table's header
ROW = "      "  # a setting's row
HELP = "          "  # a setting's help, under its row
DEFAULT_WIDTH = 16  # a longer default gets a line of its own
HEADER = ("setting", "default", "allowed")


def columns() -> int:
    """Width to wrap to: the terminal's ($COLUMNS first), else 100; at least 40."""
    return max(MIN_COLUMNS, shutil.get_terminal_size((FALLBACK_COLUMNS, 24)).columns)


def resolve_names(names: Iterable[str], known: Iterable[str]) -> list[str]:
    """The algorithms asked for, in order and once each; an unknown name is refused (CliError,
    exit 2) with the valid names and the nearest one."""
    known = list(known)
    out: list[str] = []
    for name in names:
        if name in known:
            if name not in out:
                out.append(name)
            continue
        near = difflib.get_close_matches(name.lower(), known, n=1)
        hint = f"did you mean '{near[0]}'? " if near else ""
        raise CliError(f"unknown algorithm '{name}'; {hint}valid: {', '.join(known)}")
    return out


def _number(value: Any) -> str:
    """A bound, short: 0, 0.001, 1e+06."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def allowed(spec: dict[str, Any]) -> str:
    """What a setting accepts: '{softmax, bpr}', '2 .. 1024', '>= 0', 'true or false', 'text'."""
    choices = spec.get("choices")
    if choices:
        return "{" + ", ".join(map(str, choices)) + "}"
    kind = spec.get("type")
    if kind is bool:
        return "true or false"
    low, high = spec.get("low"), spec.get("high")
    if low is not None and high is not None:
        text = f"{_number(low)} .. {_number(high)}"
    elif low is not None:
        text = f">= {_number(low)}"
    elif high is not None:
        text = f"<= {_number(high)}"
    else:
        text = {int: "whole number", float: "number", str: "text"}.get(kind, "")
    return text


def settings_table(specs: list[dict[str, Any]], width: int) -> list[str]:
    """A header and, per setting, one row (name, default, allowed) and its wrapped help."""
    if not specs:
        return []
    from ..runs.labels import format_value

    rows = [(s["name"], format_value(s["default"]), allowed(s), str(s.get("help") or ""))
            for s in specs]
    name_w = max(len(HEADER[0]), *(len(r[0]) for r in rows))
    default_w = min(DEFAULT_WIDTH, max(len(HEADER[1]), *(len(r[1]) for r in rows)))
    at = len(ROW) + name_w + 2 + default_w + 2  # where 'allowed' starts
    out = [f"{INDENT}{'':{len(ROW) - len(INDENT)}}{HEADER[0]:<{name_w}}  "
           f"{HEADER[1]:<{default_w}}  {HEADER[2]}".rstrip()]
    for name, default, allow, text in rows:
        allow_lines = textwrap.wrap(allow, max(12, width - at), break_on_hyphens=False) or [""]
        if len(default) > default_w:  # a long default: its own line, 'allowed' below it
            out.append(f"{ROW}{name:<{name_w}}  {default}")
            first = " " * at + allow_lines[0]
        else:
            first = f"{ROW}{name:<{name_w}}  {default:<{default_w}}  {allow_lines[0]}"
        out.append(first.rstrip())
        out += [(" " * at + line).rstrip() for line in allow_lines[1:]]
        if text:
            out += textwrap.wrap(text, width, initial_indent=HELP, subsequent_indent=HELP,
                                 break_on_hyphens=False)
    return out


def algorithm_block(cls, default: str, width: int) -> list[str]:
    """One algorithm in full (no blank line inside: blocks are separated by one)."""
    from .data_verbs import algorithm_defaults

    mark = "  (default)" if cls.name == default else ""
    lines = [f"{cls.name:<16} {cls.title}  [{cls.family}]{mark}"]
    lines += textwrap.wrap(cls.description, width, initial_indent=INDENT,
                           subsequent_indent=INDENT, break_on_hyphens=False)
    if cls.presets:
        lines.append(f"{INDENT}presets: {', '.join(cls.presets)} (metarec train --preset NAME)")
    own, train = algorithm_defaults(cls)
    if getattr(cls, "trainable", True):
        changed = [s for s in train if s["overridden"]]
        if changed:
            lines += textwrap.wrap("trains with: " + ", ".join(
                f"{s['name']}={s['default']!r}" for s in changed), width,
                initial_indent=INDENT, subsequent_indent=INDENT + "  ", break_long_words=False)
    else:
        lines.append(f"{INDENT}closed form: fitted once, no meta-training")
    if own:
        lines.append(f"{INDENT}settings (metarec train --set NAME=VALUE):")
        lines += settings_table(own, width)
    return lines


def training_block(width: int) -> list[str]:
    from ..training import TrainConfig

    return (textwrap.wrap("Training settings (--set, any trainable algorithm; 'trains with' "
                          "above overrides these defaults):", width)
            + settings_table(TrainConfig.field_specs(), width))


def show_algorithms(names: list[str], verbose: bool, default: str) -> str:
    """The text of ``metarec algorithms``: one line per algorithm, or (``verbose``, or
    ``names`` given) each algorithm in full, then the training settings."""
    from ..algorithms import ALGORITHMS

    chosen = resolve_names(names, ALGORITHMS)
    if not chosen and not verbose:
        lines = []
        for name, cls in ALGORITHMS.items():
            mark = "  (default)" if name == default else ""
            lines.append(f"{name:<16} {cls.title}  [{cls.family}]{mark}")
        lines += ["", "`metarec algorithms NAME` shows one in full (its settings, defaults and "
                  "ranges); -v shows all."]
        return "\n".join(lines)
    width = columns()
    classes = [ALGORITHMS[n] for n in chosen] if chosen else list(ALGORITHMS.values())
    blocks = ["\n".join(algorithm_block(cls, default, width)) for cls in classes]
    if any(getattr(cls, "trainable", True) for cls in classes):
        blocks.append("\n".join(training_block(width)))
    return "\n\n".join(blocks)
