"""Before Qt starts: can its X11 platform plugin load? If not, say in one line what to install.

Qt aborts with "Could not load the Qt platform plugin "xcb"" and names only the first missing
library it noticed (often ``libxcb-cursor0`` when ``libxcb-icccm4`` and ``libxcb-keysyms1`` were
missing too). Here ``ldd`` on the plugin lists every missing library, mapped to its Debian/Ubuntu
package name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Libraries the xcb plugin needs beyond a base X11 install (used when ldd is not available).
XCB_LIBS = {
    "xcb-cursor": "libxcb-cursor0", "xcb-icccm": "libxcb-icccm4", "xcb-keysyms": "libxcb-keysyms1",
    "xcb-image": "libxcb-image0", "xcb-render-util": "libxcb-render-util0",
    "xkbcommon-x11": "libxkbcommon-x11-0", "xcb-shape": "libxcb-shape0", "xcb-randr": "libxcb-randr0",
}
_SONAME = re.compile(r"^\s*(lib[\w.+-]+?)\.so(?:\.(\d+))?[\d.]*\s*=>\s*not found", re.MULTILINE)


def debian_package(soname: str) -> str:
    """'libxcb-icccm.so.4' -> 'libxcb-icccm4', 'libxkbcommon-x11.so.0' -> 'libxkbcommon-x11-0'."""
    m = re.match(r"^(lib[\w.+-]+?)\.so(?:\.(\d+))?", soname)
    if not m:
        return soname
    name, major = m.group(1).lower(), m.group(2)
    if not major:
        return name
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def missing_from_ldd(output: str) -> list[str]:
    """Debian package names of the 'not found' lines of ``ldd`` output (in order, once each)."""
    out: list[str] = []
    for m in _SONAME.finditer(output):
        soname = m.group(1) + ".so" + (f".{m.group(2)}" if m.group(2) else "")
        package = debian_package(soname)
        if package not in out:
            out.append(package)
    return out


def install_message(packages: list[str]) -> str:
    """The one line printed instead of Qt's abort."""
    return ("MetaRec cannot open a window: Qt's X11 platform plugin needs system libraries that "
            f"are missing. Install them (Debian/Ubuntu): sudo apt-get install {' '.join(packages)}")


def _plugin() -> Path | None:
    try:
        import PySide6
    except ImportError:
        return None
    path = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.is_file() else None


def missing_packages() -> list[str]:
    """Packages the xcb plugin lacks here (empty when it can load, or when unsure)."""
    plugin = _plugin()
    if plugin is not None and shutil.which("ldd"):
        try:
            result = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return []
        return missing_from_ldd(result.stdout + result.stderr)
    from ctypes.util import find_library

    return [pkg for lib, pkg in XCB_LIBS.items() if find_library(lib) is None]


def platform_problem() -> str:
    """One line naming what to install, or '' (not Linux/X11, or nothing is missing)."""
    if not sys.platform.startswith("linux"):
        return ""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return ""
    if not platform and os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        return ""
    packages = missing_packages()
    return install_message(packages) if packages else ""
