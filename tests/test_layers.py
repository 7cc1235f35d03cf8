"""Dependencies point downwards only (docs/design.md, "Layers").

Two checks per layer: importing every module of the layer in a fresh interpreter loads no
module of a layer above it, and no `import` statement in its source (including the lazy ones
inside functions) names one.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import reelforge

SRC = Path(reelforge.__file__).parent

# layer → the layers it must never import (the ones above it).
FORBIDDEN: dict[str, set[str]] = {
    "spec": {"ffmpeg", "imaging", "render", "providers", "runtime", "pipelines", "service", "cli"},
    "ffmpeg": {"spec", "imaging", "render", "providers", "runtime", "pipelines", "service", "cli"},
    "imaging": {"ffmpeg", "render", "providers", "runtime", "pipelines", "service", "cli"},
    "render": {"providers", "runtime", "pipelines", "service", "cli"},
    "providers": {"render", "runtime", "pipelines", "service", "cli"},
    "runtime": {"pipelines", "service", "cli"},
    "pipelines": {"service", "cli"},
}
# Shared base modules every layer may use; they import nothing but each other.
BASE = {"errors", "logging", "settings", "atomic", "samples", "canonical", "lifeline"}

_PROBE = """
import importlib, json, pkgutil, sys
pkg = importlib.import_module("reelforge." + sys.argv[1])
for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
    if not info.name.endswith("__main__") and ".migrations" not in info.name:  # Alembic runs those itself
        importlib.import_module(info.name)
print(json.dumps({"layers": sorted({n.split(".")[1] for n in sys.modules if n.startswith("reelforge.")}),
                  "top": sorted({n.split(".")[0] for n in sys.modules})}))
"""


def _imported_layers(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found |= {n.split(".")[1] for n in names if n.startswith("reelforge.")}
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_importing_a_layer_loads_nothing_above_it(layer: str) -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE, layer], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout)["layers"])
    assert not loaded & FORBIDDEN[layer], f"importing reelforge.{layer} loaded {sorted(loaded & FORBIDDEN[layer])}"


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_import_statement_points_upwards(layer: str) -> None:
    bad = {f"{p.relative_to(SRC)} imports reelforge.{target}"
           for p in (SRC / layer).rglob("*.py") for target in _imported_layers(p) & FORBIDDEN[layer]}
    assert not bad, sorted(bad)


def test_base_modules_import_only_base_modules() -> None:
    for name in sorted(BASE):
        path = SRC / f"{name}.py"
        if path.exists():
            assert _imported_layers(path) <= BASE, f"{name}.py imports {sorted(_imported_layers(path) - BASE)}"


def test_spec_loads_no_image_video_or_network_library() -> None:
    """The spec layer is data (pydantic models, YAML reading); it must stay cheap to import."""
    out = subprocess.run([sys.executable, "-c", _PROBE, "spec"], capture_output=True, text=True, check=True)
    heavy = set(json.loads(out.stdout)["top"]) & {"numpy", "cv2", "rembg", "httpx", "pymatting", "onnxruntime"}
    assert not heavy, sorted(heavy)


def test_cli_subcommands_do_not_import_the_command_module() -> None:
    """Shared CLI helpers live in cli/_common.py; only `__main__` imports cli/main.py."""
    bad = [p.name for p in (SRC / "cli").glob("*.py")
           if p.name != "main.py" and "reelforge.cli.main" in p.read_text(encoding="utf-8")]
    assert not bad, bad
