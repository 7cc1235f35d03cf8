"""The words the pipeline adds to a scene prompt. They are part of the step key and are shown by
`--dry-run`, so a user always sees exactly what is sent.

speed:             the background is described in words (the image is used as generated);
balanced/premium:  the subject is asked for on pure white (`backdrop="white"` on the request),
                   which the `key` cut-out removes exactly; the adapters append the wording
                   (`providers.images.base.BACKDROP_WORDS`), the local draft cards draw it.
"""

from __future__ import annotations

from pathlib import Path

from PIL import ImageColor

from reelforge.providers.images.base import Backdrop, ImageRequest, prompt_text

SPEED_SUFFIX = "cinematic composition, high quality, professional"

TEXTURE_WORDS = {
    "wood": "on a warm natural wood surface",
    "marble": "on a polished white marble surface",
    "concrete": "against a raw grey concrete wall",
    "paper": "on textured off-white paper",
    "studio": "in a seamless photo studio sweep with soft light",
}
# A few plain colour names are enough for a prompt; the exact hex follows them.
COLOR_NAMES = {
    "white": (255, 255, 255), "black": (0, 0, 0), "grey": (128, 128, 128), "light grey": (200, 200, 200),
    "dark grey": (60, 60, 60), "red": (200, 30, 30), "orange": (240, 140, 20), "yellow": (240, 220, 40),
    "green": (40, 160, 60), "teal": (20, 140, 140), "blue": (30, 80, 200), "navy": (20, 30, 80),
    "purple": (120, 50, 160), "pink": (240, 150, 190), "brown": (110, 70, 40), "beige": (225, 210, 180),
}


def scene_prompt(prompt: str, mode: str, aspect: str, background: object) -> str:
    """The prompt of one scene's request (without the backdrop words: see `scene_backdrop`)."""
    prompt = prompt.strip().rstrip(".,;")
    if mode == "speed":
        setting = "" if background is None else f"{describe_background(background)}, "
        return f"{prompt}, {setting}{aspect} aspect ratio, {SPEED_SUFFIX}"
    return f"{prompt}, {aspect} aspect ratio"


def scene_backdrop(mode: str) -> Backdrop | None:
    """speed uses the image as generated; balanced/premium cut the subject off pure white."""
    return None if mode == "speed" else "white"


def prompt_sent(prompt: str, backdrop: Backdrop | None) -> str:
    """The words a text-prompted provider gets for a scene (shown by --dry-run and the report)."""
    return prompt_text(ImageRequest(prompt, backdrop=backdrop))


def describe_background(background: object) -> str:
    """Words for a background spec (speed mode puts the background into the prompt)."""
    kind = getattr(background, "type", None)
    if kind == "color":
        return f"against a plain {color_words(background.color)} background"  # type: ignore[attr-defined]
    if kind == "gradient":
        stops = [color_words(c) for c in background.stops]  # type: ignore[attr-defined]
        return f"against a smooth gradient background from {stops[0]} to {stops[-1]}"
    if kind == "texture":
        return TEXTURE_WORDS.get(background.name, f"on a {background.name} background")  # type: ignore[attr-defined]
    if kind == "image":
        return f"in a setting like the photo '{Path(background.path).stem}'"  # type: ignore[attr-defined]
    return "on a clean background"


def color_words(value: str) -> str:
    """`#1b2a4a` → "navy (#1b2a4a)": the nearest plain name, then the exact colour."""
    r, g, b = ImageColor.getrgb(value)[:3]
    name = min(COLOR_NAMES, key=lambda n: sum((a - c) ** 2 for a, c in zip(COLOR_NAMES[n], (r, g, b), strict=True)))
    return f"{name} ({value})"
