"""`file://`: a local folder (a mounted share, a synced drive). Metadata goes to a `.json` beside the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from reelforge.atomic import atomic_output, write_text


class LocalFolder:
    name = "file"

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def upload(self, path: Path, key: str, content_type: str, metadata: dict[str, str]) -> dict[str, Any]:
        target = self.folder / key
        with atomic_output(target) as temp:
            shutil.copyfile(path, temp)
        write_text(target.with_name(target.name + ".json"),
                   json.dumps({"content_type": content_type, "metadata": metadata}, indent=2))
        return {"storage": "file", "key": key, "url": target.resolve().as_uri(), "size": target.stat().st_size}
