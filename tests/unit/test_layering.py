"""The shape DESIGN.md describes, checked on the source: imports only run downward
(api → services → schemas → repositories → models → core), nothing below api/ knows
FastAPI, and no module grows past a few hundred lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ecommerce"
# Higher imports lower, never the reverse. The composition root and the tools on top.
LAYERS = {
    "core": 0,
    "models": 1,
    "repositories": 2,
    "schemas": 3,
    "services": 4,
    "api": 5,
    "devtools": 6,
}
TOP = 7  # main.py, cli.py, launcher.py, gunicorn_config.py
MAX_LINES = 400
WEB_FRAMEWORKS = ("fastapi", "starlette")


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _layer(parts: tuple[str, ...]) -> int:
    return LAYERS.get(parts[0], TOP) if len(parts) > 1 else TOP


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_downward(path: Path) -> None:
    own = _layer(path.relative_to(PACKAGE).parts)
    upward = []
    for name in _imports(path):
        parts = tuple(name.split("."))
        if parts[0] == "ecommerce" and len(parts) > 1:
            target = parts[1:] if len(parts) > 2 else (*parts[1:], "")
            if _layer(target) > own:
                upward.append(name)
        if own < LAYERS["api"] and parts[0] in WEB_FRAMEWORKS:
            upward.append(name)
    assert not upward, f"{path.name} imports upward: {upward}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines"
