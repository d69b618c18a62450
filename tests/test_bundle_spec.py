"""What the PyInstaller bundle (build.spec, built by .ci/bundle) relies on, checked cheaply.

The bundle keeps only the Qt modules and plugins build.spec names: a new `from PySide6.QtX`
in jobdesk must be added there too, or the bundled app fails where the tests pass.
"""

from __future__ import annotations

import ast
import configparser
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"


def spec_constant(name: str) -> Any:
    tree = ast.parse((ROOT / "build.spec").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"build.spec has no {name}")


def test_the_bundle_keeps_every_qt_module_jobdesk_imports() -> None:
    imported = set()
    for path in (ROOT / "jobdesk").rglob("*.py"):
        imported |= set(re.findall(r"(?:from|import) PySide6\.(Qt\w+)", path.read_text("utf-8")))
    kept = spec_constant("QT_MODULES")
    assert imported, "no PySide6 import found"
    assert imported <= kept, f"add {sorted(imported - kept)} to QT_MODULES in build.spec"


def test_the_bundle_keeps_the_plugins_the_window_needs() -> None:
    plugins = spec_constant("QT_PLUGINS")
    assert {"libqxcb.so", "libqoffscreen.so"} <= plugins["platforms"]
    assert "libqsvgicon.so" in plugins["iconengines"]  # the window icon is an SVG
    assert "libqsvg.so" in plugins["imageformats"]
    assert {"Core", "Gui", "Widgets", "Svg"} <= spec_constant("QT_LIBS")


def test_the_icon_renders(qapp: Any) -> None:
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(RESOURCES / "jobdesk.svg"))
    assert renderer.isValid()
    assert renderer.defaultSize().width() == renderer.defaultSize().height() == 256
    png = QImage(str(RESOURCES / "jobdesk.png"))
    assert (png.width(), png.height()) == (256, 256)
    assert png.hasAlphaChannel()


def test_the_desktop_entry_starts_jobdesk() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(RESOURCES / "jobdesk.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Name"] == "jobdesk"
    assert desktop["Exec"] == "jobdesk"
    assert desktop["Icon"] == "jobdesk"
    assert desktop["Terminal"] == "false"
    assert set(desktop["Categories"].rstrip(";").split(";")) == {"Network", "Utility"}
    assert desktop["Comment"]


def test_the_bundle_carries_the_profiles_the_app_reads() -> None:
    assert list((RESOURCES / "profiles").glob("*.toml"))
