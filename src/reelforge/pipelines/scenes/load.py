"""Reading a scenes spec: a YAML/JSON document, or a plain text file of prompts (one per line)
whose other settings come from the command line. Paths are resolved against the spec's folder
and every image file is opened once up front, so a bad file stops the run before anything is spent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reelforge.errors import InputError, SpecError
from reelforge.imaging.load import verify_file
from reelforge.spec.loader import read_document, resolve_path, validate_model
from reelforge.spec.scenes import ScenesSpec

TEXT_SUFFIXES = (".txt", ".prompts")


def load_scenes(source: str | Path | dict[str, Any], *, base_dir: str | Path | None = None,
                overrides: dict[str, Any] | None = None) -> ScenesSpec:
    """A validated spec with absolute paths. `overrides` (from CLI flags) replace top-level fields."""
    if isinstance(source, dict):
        doc, root, name, base = dict(source), None, None, Path(base_dir or ".").resolve()
    else:
        path = Path(source)
        base = Path(base_dir) if base_dir else path.resolve().parent
        if path.suffix.lower() in TEXT_SUFFIXES:
            doc, root, name = _prompts_document(path), None, str(path)
        else:
            doc, root, name = *read_document(path), str(path)
    if not isinstance(doc, dict):
        raise SpecError(f"{name or 'spec'} must be a mapping with a `scenes` list", source=name,
                        hint="see examples/scenes/product.yaml")
    doc = {**doc, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    if "clips" in doc and "scenes" not in doc:
        raise SpecError(f"{name or 'spec'} is a timeline, not a scenes spec", source=name,
                        hint=f"render it with `reelforge render {name or 'FILE'} -o out.mp4`")
    if not doc.get("scenes"):
        raise SpecError(f"{name or 'spec'} has no scenes", source=name,
                        hint="add a `scenes:` list with at least one `- prompt: …` or `- image: …`")
    spec = validate_model(ScenesSpec, doc, what="scenes spec", source=name, root=root)
    return _resolved(spec, base)


def _prompts_document(path: Path) -> dict[str, Any]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}", field=str(path),
                         hint="pass a UTF-8 text file with one scene prompt per line") from None
    prompts = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    return {"scenes": [{"prompt": p} for p in prompts]}


def _resolved(spec: ScenesSpec, base: Path) -> ScenesSpec:
    """Absolute paths everywhere, and every image file checked (exists, decodes, not a bomb)."""
    background = _resolve_background(spec.background, base, "background")
    if background is not spec.background:  # assigning would mark a default background as the user's
        spec.background = background
    for i, scene in enumerate(spec.scenes):
        if scene.image is not None:
            scene.image = resolve_path(scene.image, base)
            verify_file(scene.image, field=f"scenes[{i}].image")
        if scene.background is not None:
            scene.background = _resolve_background(scene.background, base, f"scenes[{i}].background")
    font = spec.caption_style.get("font")
    if isinstance(font, str) and font.lower().endswith((".ttf", ".otf", ".ttc")):
        spec.caption_style["font"] = resolve_path(font, base)
        if not Path(spec.caption_style["font"]).is_file():
            raise InputError(f"font file not found: {spec.caption_style['font']}", field="caption_style.font",
                             hint="check the path (relative to the spec file), or use a family from `reelforge fonts`")
    if spec.music is not None:
        spec.music.path = resolve_path(spec.music.path, base)
        if not Path(spec.music.path).is_file():
            raise InputError(f"music file not found: {spec.music.path}", field="music.path",
                             hint="check the path (relative to the spec file)")
    return spec


def _resolve_background(background: Any, base: Path, field: str) -> Any:
    if getattr(background, "type", None) != "image":
        return background
    path = resolve_path(background.path, base)
    verify_file(path, field=f"{field}.path")
    return background.model_copy(update={"path": path})
