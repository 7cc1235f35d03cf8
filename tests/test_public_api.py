"""Every public name of `reelforge` keeps working however often it is used and whatever was
imported in between (`reelforge.render` used to become the `reelforge.render` subpackage after the
first call: "TypeError: 'module' object is not callable")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, sys
import reelforge
names = [n for n in reelforge.__all__ if n != "__version__"]
assert all(callable(getattr(reelforge, n)) for n in names)
spec = {"canvas": {"width": 64, "height": 64, "fps": 10}, "output": {"quality": "draft"},
        "clips": [{"duration": 0.3, "layers": [{"type": "color", "color": "#ff0000"}]}]}
out = sys.argv[1]
reelforge.render(spec, out + "/a.mp4")
reelforge.render(spec, out + "/b.mp4")
import reelforge.render.api, reelforge.render.prepare, reelforge.pipelines.cutout, reelforge.ffmpeg.probe  # noqa
import reelforge.spec.loader, reelforge.imaging.cutout  # noqa
bad = [n for n in names if not callable(getattr(reelforge, n))]
assert not bad, bad
reelforge.render(spec, out + "/c.mp4")
reelforge.render_frame(spec, 0.1, out + "/f.png")
print(reelforge.probe(out + "/c.mp4").duration)
"""


def test_every_public_name_stays_callable_after_use_and_submodule_imports(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert abs(float(result.stdout.strip()) - 0.3) < 0.05
    assert all((tmp_path / n).stat().st_size > 0 for n in ("a.mp4", "b.mp4", "c.mp4", "f.png"))
