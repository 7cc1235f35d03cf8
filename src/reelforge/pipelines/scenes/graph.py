"""A scenes spec → the step graph of one round. Per scene:

    speed:             [image.generate] → scene.check                         (frame = the checked image)
    balanced/premium:  [image.generate] → scene.check → scene.cutout ┐
                                         scene.background (shared) ──┴→ scene.composite (frame)

An image-file scene has no generate step: its check step reads the file. A scene with `video:`
adds a clip step after its frame (`video.local` / `video.generate`, image-to-video from the frame),
whose clip takes the scene's place in the timeline. Round r > 0 holds only the scenes that failed
a check, with variation r (a new seed, a new key → a new image, and so a new clip)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reelforge.errors import InputError
from reelforge.pipelines.clip.steps import (
    ClipAsk,
    check_ask,
    check_usable,
    clip_step,
    shortest_duration,
)
from reelforge.pipelines.images import GenerateImage
from reelforge.pipelines.scenes.actions import (
    CheckImage,
    CompositeScene,
    CutoutSubject,
    RenderBackground,
)
from reelforge.pipelines.scenes.framing import placement_params
from reelforge.pipelines.scenes.prompts import prompt_sent, scene_backdrop, scene_prompt
from reelforge.runtime import Step
from reelforge.settings import Settings
from reelforge.spec.provider_names import CLOUD_CUTOUTS
from reelforge.spec.scenes import Scene, ScenesSpec


@dataclass(frozen=True)
class SceneSteps:
    """One scene's steps in one round, and which of them yields the frame."""

    index: int
    variation: int
    frame_step: str
    steps: tuple[Step, ...]
    prompt_sent: str | None = None
    clip_step: str | None = None  # the generated clip that replaces the frame in the timeline

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.steps)


@dataclass
class StepGraphBuilder:
    spec: ScenesSpec
    provider: str
    model: str
    size: tuple[int, int]
    delivered_aspect: float  # width / height the provider returns for the spec's aspect
    takes_seeds: bool = False
    settings: Settings | None = None  # for scenes with `video:` (the video model and its polling)
    _backgrounds: dict[str, Step] = field(default_factory=dict)

    def round(self, scenes: list[int], variation: int) -> tuple[list[SceneSteps], list[Step]]:
        """The graph for `scenes` (indices) at `variation`: per-scene steps plus all steps."""
        self._backgrounds = {}
        per_scene = [self.scene(i, variation) for i in scenes]
        steps = [*self._backgrounds.values(), *(s for sc in per_scene for s in sc.steps)]
        return per_scene, steps

    def scene(self, index: int, variation: int) -> SceneSteps:
        scene = self.spec.scenes[index]
        tag = f"s{index + 1:02d}" + (f".v{variation}" if variation else "")
        steps: list[Step] = []
        sent = None
        if scene.prompt is not None:
            prompt = scene_prompt(scene.prompt, self.spec.mode, self.spec.aspect, self.spec.background_words(scene))
            backdrop = scene_backdrop(self.spec.mode)
            sent = prompt_sent(prompt, backdrop)
            steps.append(self._generate(tag, index, prompt, backdrop, variation))
        steps.append(self._check(tag, scene, steps[0].id if steps else None))
        if self.spec.mode != "speed":
            steps.append(self._cutout(tag, steps[-1].id))
            background = self._background(self.background_of(scene))
            placement = placement_params(self.spec, scene, self.size)
            steps.append(Step(f"{tag}.frame", CompositeScene.kind, {"placement": placement},
                              needs=(steps[-1].id, background.id), label=f"scene {index + 1}: composite"))
        frame_step = steps[-1].id
        clip = None
        if scene.video is not None:
            assert self.settings is not None
            label = f"scene {index + 1}: clip ({scene.video.provider})"
            steps.append(clip_step(f"{tag}.clip", clip_ask(self.spec, index, self.settings), self.settings,
                                   needs=(frame_step,), label=label))
            clip = steps[-1].id
        return SceneSteps(index, variation, frame_step, tuple(steps), sent, clip)

    def background_of(self, scene: Scene) -> Any:
        return scene.background if scene.background is not None else self.spec.background

    def _generate(self, tag: str, index: int, prompt: str, backdrop: str | None, variation: int) -> Step:
        scene = self.spec.scenes[index]
        seed = scene.seed
        if variation and self.takes_seeds:  # a regeneration must ask for a different image
            seed = (scene.seed if scene.seed is not None else _seed_of(prompt_sent(prompt, backdrop))) + variation
        params: dict[str, Any] = {"prompt": prompt, "aspect": self.spec.aspect, "seed": seed, "negative_prompt": None,
                                  "variant": variation, "repeat": self._repeat(index)}
        if backdrop is not None:  # absent rather than None, so speed-mode keys stay as they were
            params["backdrop"] = backdrop
        return Step(f"{tag}.image", GenerateImage.kind, params, self.provider, self.model,
                    label=scene.prompt or "", billing=("image", 1))

    def _repeat(self, index: int) -> int:
        """How many earlier scenes ask for the very same image: two scenes with one prompt are two
        images (two keys), and inserting other scenes does not change which is which."""
        scene = self.spec.scenes[index]
        return sum(1 for s in self.spec.scenes[:index] if (s.prompt, s.seed) == (scene.prompt, scene.seed))

    def _check(self, tag: str, scene: Scene, generated: str | None) -> Step:
        qa = self.spec.qa
        if generated is None:  # a user's file: it was opened up front; only blank/tiny fail here
            params = {"min_size": 16, "aspect": None, "aspect_tolerance": 1.0, "min_contrast": qa.min_contrast}
            return Step(f"{tag}.check", CheckImage.kind, params, files={"image": Path(scene.image or "")},
                        label=f"{Path(scene.image or '').name}: check")
        # The aspect matters where the image fills the frame (speed); a cut-out is cropped anyway.
        aspect = self.delivered_aspect if self.spec.mode == "speed" else None
        params = {"min_size": qa.min_size, "aspect": aspect, "aspect_tolerance": qa.aspect_tolerance,
                  "min_contrast": qa.min_contrast}
        return Step(f"{tag}.check", CheckImage.kind, params, needs=(generated,), label=f"{tag}: check")

    def _cutout(self, tag: str, checked: str) -> Step:
        method = self.spec.cutout_method
        cloud = method in CLOUD_CUTOUTS
        params = {"method": method, "model": self.spec.cutout.model, "min_subject": self.spec.qa.min_subject}
        return Step(f"{tag}.cutout", CutoutSubject.kind, params, provider=method if cloud else None,
                    model="background-removal" if cloud else None, needs=(checked,),
                    label=f"{tag}: cut-out ({method})", billing=("image", 1) if cloud else None)

    def _background(self, background: Any) -> Step:
        dumped = background.model_dump(mode="json")
        files = {}
        if dumped.get("type") == "image":  # the file is hashed by content; its path stays out of the key
            files = {"image": Path(dumped.pop("path"))}
        key = repr(sorted(dumped.items())) + repr(files)
        if key not in self._backgrounds:
            step_id = f"bg{len(self._backgrounds) + 1}"
            self._backgrounds[key] = Step(step_id, RenderBackground.kind, {"background": dumped, "size": list(self.size)},
                                          files=files, label=f"background {dumped.get('type')}")
        return self._backgrounds[key]


def _seed_of(prompt: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big") % 1_000_000


def scene_seconds(spec: ScenesSpec, scene: Scene) -> float:
    """Seconds on screen: the scene's own, else its clip's length, else the spec's."""
    if scene.duration is not None:
        return scene.duration
    if scene.video is not None and scene.video.duration is not None:
        return float(scene.video.duration)
    return spec.duration


def clip_ask(spec: ScenesSpec, index: int, settings: Settings) -> ClipAsk:
    """The clip a scene's `video:` asks for (its first frame comes from the scene's frame step)."""
    scene = spec.scenes[index]
    video = scene.video
    assert video is not None
    duration = video.duration or shortest_duration(video.provider, video.model, settings,
                                                   scene_seconds(spec, scene), video.resolution)
    prompt = video.prompt or scene.prompt or scene.caption or ""
    return ClipAsk(video.provider, prompt, duration, spec.aspect, video.resolution, video.model,
                   negative_prompt=video.negative_prompt, first_frame_from_step=True)


def check_videos(spec: ScenesSpec, settings: Settings, *, calling: bool = False) -> None:
    """Every scene clip checked against its model's limits before anything runs, and long enough
    to cover the scene (a clip is trimmed to the scene, never frozen or looped); when `calling`,
    its provider must also be usable (a key set), so no image is paid for a clip that cannot be."""
    for index, scene in enumerate(spec.scenes):
        if scene.video is None:
            continue
        ask = clip_ask(spec, index, settings)
        check_ask(ask, settings, f"scenes[{index}].video")
        if calling:
            check_usable(ask, settings, f"scenes[{index}].video")
        seconds = scene_seconds(spec, scene)
        if seconds > ask.duration + 1e-6:
            raise InputError(f"the scene lasts {seconds:g} s but its clip only {ask.duration} s",
                             field=f"scenes[{index}].duration",
                             hint=f"shorten the scene to {ask.duration} s or less, or set a longer video.duration")
