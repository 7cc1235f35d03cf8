"""`file://`: a local folder (a mounted share, a synced drive). Metadata goes to a `.json` beside the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any


class LocalFolder:
    name = "file"

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def upload(self, path: Path, key: str, content_type: str, metadata: dict[str, str]) -> dict[str, Any]:
        target = self.folder / key
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.part")
        shutil.copyfile(path, temp)
        temp.replace(target)
        target.with_name(target.name + ".json").write_text(
            json.dumps({"content_type": content_type, "metadata": metadata}, indent=2))
        return {"storage": "file", "key": key, "url": target.resolve().as_uri(), "size": target.stat().st_size}
