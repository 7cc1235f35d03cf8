"""Reading and writing script files (YAML or JSON): errors name the file, the field path and its
line, as for every other spec."""

from __future__ import annotations

from pathlib import Path

import yaml

from reelforge.atomic import write_text
from reelforge.spec.story import StoryScript

HEADER = ("# A reelforge story script. Edit it, then: reelforge story make {name} -o OUT/\n"
          "# Format: docs/story.md (or `reelforge schema story`). Segment N's last frame is segment N+1's "
          "first frame.\n")


def load_script(path: Path) -> StoryScript:
    from reelforge.spec.loader import read_document, validate_model

    doc, root = read_document(Path(path))
    return validate_model(StoryScript, doc, what="story script", source=str(path), root=root)


def save_script(script: StoryScript, path: Path) -> Path:
    data = script.model_dump(mode="json")
    if path.suffix.lower() == ".json":
        import json

        write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
        write_text(path, HEADER.format(name=path.name) + text)
    return path
