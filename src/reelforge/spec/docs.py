"""Generate the spec references from the JSON Schemas.

    python -m reelforge.spec.docs > docs/timeline.md
    python -m reelforge.spec.docs text > docs/text.md
    python -m reelforge.spec.docs overlay > docs/overlay.md
    python -m reelforge.spec.docs backgrounds > docs/backgrounds.md
"""

from __future__ import annotations

import json
from typing import Any

from reelforge.spec.schema import json_schema

HEADER = """\
# Timeline spec reference

Generated from the schema by `make docs` (`python -m reelforge.spec.docs`); do not edit by hand.
`reelforge schema timeline` prints the same schema as JSON Schema.

A timeline is YAML or JSON. Paths are relative to the spec file; `sample:NAME` picks a sample
photo bundled with scikit-image (`coffee.png`, `astronaut.png`, `rocket.jpg`, `chelsea.png`, …).
Defaults cascade: `defaults.layer` → `defaults.<type>` → the layer's own fields.
A transition (or a motion) can be written as a plain name: `transition: wipeleft`, `motion: zoom-in`.
"""


TEXT_HEADER = """\
# Text style reference

Generated from the schema by `make docs` (`python -m reelforge.spec.docs text`); do not edit by hand.
`reelforge schema text` prints the same schema as JSON Schema.

A style describes how `reelforge text` and text overlays draw words: font, fill, outlines,
shadows, glow, 3D extrusion, bevel, layout and an optional badge. **Lengths are in em**,
multiples of the font size (`0.05` at `size: 120` is 6 px), so a style keeps its proportions at any
size. Effects are drawn back to front: badge shadow, badge, text shadows, glows, extrusion,
outlines (widest first), fill with bevel. The result is an RGBA PNG cropped to the visible
pixels plus `margin`; the same text and style always give the same bytes.

Shaping is HarfBuzz (Pillow's raqm layout): Arabic and Hebrew are set right to left with joined
letters, Devanagari and Thai get their conjuncts, CJK wraps between characters, and every
character falls back to a bundled face that has it (Noto Sans and its script faces, Noto Emoji,
Noto Sans CJK). `reelforge fonts` lists the families; the display faces shipped with reelforge
are `geometric` (League Spartan), `condensed` (Bebas Neue, capitals), `serif` (Playfair Display),
`script` (Dancing Script) and `mono` (JetBrains Mono), all SIL Open Font License.

```sh
reelforge text "SALE 50% OFF" --style sale-badge -o sale.png
reelforge text "Jane Doe" --style lower-third --font serif --size 80 --color "#ffe08a" -o name.png
reelforge text "A long headline" --style gold-3d --width 800 --height 300 -o fit.png   # auto-fit
```
"""

TEXT_AI_SECTION = """\
## The AI engine (`--engine ai`)

```sh
reelforge text "SALE 50% OFF" --color "#c8102e" --engine ai --provider gemini --dry-run   # prompt + cost, no call
reelforge text "SALE 50% OFF" --style gold-3d --engine ai --provider gemini --budget 0.10 -o sale.png
reelforge text "SALE 50% OFF" --style gold-3d --engine ai --provider local -o draft.png   # offline draft, $0
```

An image provider (`gemini`, `openai`, `imagen`, `flux`, `sdwebui`; default
`REELFORGE_IMAGE_PROVIDER`) draws the text on a plain backdrop, `key` cuts it out (backdrop
removed exactly, edge colours un-composited so there is no fringe), and the result is cropped to
the text with a 3 % margin: the same kind of RGBA PNG the typographic engine writes. The prompt is
built from the style (`src/reelforge/pipelines/text_prompt.py`):

- the exact text (in capitals when the style says so), and nothing else: no other words, logos or symbols;
- the font feel (`condensed` → a tall condensed display sans like Bebas Neue, `script` → flowing
  connected script, …), the weight, letter spacing;
- colours as hex codes and the effects in words: gradient direction, metallic finish, outlines,
  3D extrusion, bevel, glow, drop shadow, the badge and its rim, the tilt;
- the composition: centred, about 75 % of the width, nothing touching the edges, at an aspect
  ratio near the text's own shape (one the provider offers);
- the background: **pure white (#FFFFFF)**, flat, no texture, gradient, vignette, props or shadow.
  White letters cannot be cut from white, so a style whose letters, outlines or badge are white or
  near it asks for **pure black** instead, and one with both near-white and near-black parts
  (`bold-outline`: white with a black outline) for **chroma-key green (#00B140)**. `--dry-run`
  shows which.

Both steps run on the generation runtime (docs/runtime.md): `image.generate` (the billed call,
with the provider's limits, retries and breaker) and `text.cutout` (keying in the process pool).
Each is stored under its content key, so the same text, style and provider again makes **no
call** and costs $0 (the command says "cached, no call"). `--dry-run` prints the prompt, provider,
model, backdrop, the estimated cost (or that it is cached) and calls nothing; it needs no key.
`--budget USD` refuses a call that would cost more. Without the provider's key the command stops
before any call, naming the variable to set (exit code 2). If the answer has nothing to cut out
(a blank image) or no plain backdrop (a busy one), the command fails with exit code 2 and writes
nothing; the image is cached, so `--refresh image.generate` asks again (billed again).

`--provider local` has no image model: it draws the text with the typographic engine on the same
backdrop and cuts it out like an AI answer, marked as a draft. Everything (prompt, cache, key
cut-out) runs offline for $0, which is how to try the AI path without a key.

Known limits: `key` removes backdrop-coloured pixels and soft, same-hue shadows; a wide glow or a
blurred shadow on a black or green backdrop stays in the cut-out as a dark or tinted halo (the
typographic engine draws those exactly). Image models misspell now and then: check the output, and
`--refresh image.generate` for another try.
"""

OVERLAY_HEADER = """\
# Overlay spec reference

Generated from the schema by `make docs` (`python -m reelforge.spec.docs overlay`); do not edit by hand.
`reelforge schema overlay` prints the same schema as JSON Schema.

`reelforge overlay VIDEO... --spec overlays.yaml -o OUT` applies every overlay in the file to every
video (flags such as `--crf` or `--format` override `encoding`). Image paths are relative to the
spec file. One overlay can also be given by flags alone (`--image` or `--text`, `--position`,
`--margin`, `--scale`, `--opacity`, `--start`, `--end`, `--fade`).

```yaml
overlays:
  - {image: logo.png, position: top-right, margin: 4%, scale: 0.15, opacity: 0.8}
  - {text: "SALE 50% OFF", style: sale-badge, position: bottom-left, start: 2, end: 6, fade: 0.3}
encoding: {codec: auto, crf: 20}
```

What happens to each video: it is probed; every overlay is drawn for that frame size (text is
rendered to a PNG — no user text reaches ffmpeg), placed in the frame a viewer sees (phone videos
with rotation metadata are turned upright first), and one ffmpeg run burns them in. Audio streams
are copied bit for bit; frame size, frame rate and every frame's timestamp (variable frame rate)
are kept; the encoder matches the input (same codec, pixel format — 10-bit stays 10-bit — and
bitrate as capped VBR, never below about 0.05 bit per pixel for H.264) unless `encoding` says
otherwise. `webm-alpha` (VP9 with alpha) and `mov-prores` (ProRes 4444) keep an alpha channel: a
transparent input stays transparent around the overlays. A file that is missing, not a video,
corrupt or truncated, or whose window starts after it ends, fails on its own with a message that
names it and the fix; the batch goes on and exits with code 2.
"""


BACKGROUNDS_HEADER = """\
# Backgrounds reference

Generated from the schema by `make docs` (`python -m reelforge.spec.docs backgrounds`); do not edit by hand.

In the `balanced` and `premium` scene modes a subject is cut out and composited onto one of these
backgrounds (`reelforge.imaging.backgrounds.render_background`), standing on it with a contact
shadow (`reelforge.imaging.composite.composite_subject`). A background is an object with a `type`,
or a shorthand string: a colour (`"#223344"`, `"navy"`) or a texture name (`"marble"`).

```yaml
background: marble
background: {type: gradient, stops: ["#0f2027", "#2c5364"], angle: 135}
background: {type: image, path: shelf.jpg, fit: contain-blur, blur: 6}
background: {type: texture, name: wood, color: "#8a5a3a", seed: 7, scale: 1.5}
```

Textures are drawn locally from seeded noise: the same seed and size always give the same
pixels, and lengths scale with the frame, so 1080p and 4K look alike. Every type renders a
1080p frame in under 0.3 s on one core (`bench/bench_backgrounds.py`).
"""


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = prop["$ref"].split("/")[-1]
        return f"[{name}](#{name.lower()})"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"])
    if "oneOf" in prop:
        return " or ".join(_type(p) for p in prop["oneOf"])
    kind = prop.get("type", "any")
    if kind == "array":
        if "prefixItems" in prop:
            return "[" + ", ".join(_type(p) for p in prop["prefixItems"]) + "]"
        return f"list of {_type(prop.get('items', {}))}"
    return str(kind)


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "**required**"
    if "default" not in prop:
        return ""
    return f"`{json.dumps(prop['default'], ensure_ascii=False)}`"


def _model(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"## {name}", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()), ""]
    lines += ["| field | type | default | description |", "|---|---|---|---|"]
    required = set(schema.get("required", []))
    for field, prop in schema.get("properties", {}).items():
        desc = " ".join(prop.get("description", "").split()).replace("|", "\\|")
        lines.append(f"| `{field}` | {_type(prop)} | {_default(prop, field in required)} | {desc} |")
    return lines + [""]


SCENES_HEADER = """\
# Scenes spec reference

Generated from the schema by `make docs` (`python -m reelforge.spec.docs scenes`); do not edit by hand.
`reelforge schema scenes` prints the same schema as JSON Schema. How a run works (modes, steps,
QA and regeneration, resume, reports): [scenes.md](scenes.md).

```yaml
mode: balanced            # speed | balanced | premium
provider: gemini          # or local (offline draft cards), imagen, openai, flux, sdwebui
aspect: "16:9"
background: {type: texture, name: marble}
caption_style: {font: geometric, color: "#ffffff"}
music: music.mp3
scenes:
  - prompt: a ceramic coffee mug with steam rising
    caption: Morning ritual
  - image: photos/mug-side.jpg
    duration: 4
```
"""


STORY_HEADER = """\
# Story script reference

Generated from the schema by `make docs` (`python -m reelforge.spec.docs story`); do not edit by hand.
`reelforge schema story` prints the same schema as JSON Schema; the writers (Gemini, OpenAI-compatible)
are held to it. How a story is made (keyframes, chaining, clips, costs, resume): [story.md](story.md).

```yaml
title: Floof and the mysterious box
logline: A curious furball finds a box that answers back.
format: daily-character      # story | daily-character | meme | music-video
characters:
  - name: Floof              # the library character in every keyframe
    description: a round orange furball with big black eyes
allow_dialogue: false
creature_language: soft and high-pitched
style: soft 3D animation, warm morning light
segments:
  - scene: Floof's sunny living room
    action: Floof notices the box and creeps closer
    camera: slow push-in
    first_frame: Floof on the rug, ears up, the box in the corner
    last_frame: Floof nose to nose with the box   # = segment 2's first frame
    sounds: [curious squeak]
    duration: 8              # the video provider's allowed values (Veo: 4, 6, 8)
```
"""


def render_markdown(name: str = "timeline") -> str:
    if name == "backgrounds":
        return _backgrounds_markdown()
    schema = json_schema(name)
    title = {"timeline": "Timeline", "text": "Style", "overlay": "OverlayJob", "scenes": "ScenesSpec",
             "story": "StoryScript"}[name]
    header = {"timeline": HEADER, "text": TEXT_HEADER, "overlay": OVERLAY_HEADER, "scenes": SCENES_HEADER,
              "story": STORY_HEADER}[name]
    parts = [header, *_model(title, schema)]
    for sub_name, sub in schema.get("$defs", {}).items():
        parts += _model(sub_name, sub)
    if name == "text":
        parts += _presets_section() + [TEXT_AI_SECTION]
    return "\n".join(parts).rstrip() + "\n"


def _backgrounds_markdown() -> str:
    from reelforge.spec.backgrounds import ContactShadow, background_json_schema

    parts = [BACKGROUNDS_HEADER]
    for sub_name, sub in background_json_schema().get("$defs", {}).items():
        parts += _model(sub_name, sub)
    parts += _model("ContactShadow", ContactShadow.model_json_schema())
    return "\n".join(parts).rstrip() + "\n"


def _presets_section() -> list[str]:
    from reelforge.spec.text_presets import presets

    lines = ["## Presets", "", "Defined in `src/reelforge/spec/text_presets.yaml`; `reelforge text --list` prints "
             "them. Each is a Style; flags and spec fields override its fields.", "",
             "| preset | font | size | effects | description |", "|---|---|---|---|---|"]
    for name, style in presets().items():
        effects = [k for k in ("stroke", "shadow", "glow") if getattr(style, k)]
        effects += [k for k in ("extrude", "bevel", "background") if getattr(style, k) is not None]
        effects += [f"{style.fill.type} fill"] if style.fill.type != "solid" else []
        lines.append(f"| `{name}` | {style.font} {style.weight} | {style.size:g} | {', '.join(effects) or '–'} | "
                     f"{style.description} |")
    return lines + [""]


if __name__ == "__main__":
    import sys

    print(render_markdown(sys.argv[1] if len(sys.argv) > 1 else "timeline"), end="")
