"""The offline vision provider (`local`). It has no model of products: it finds the salient
subject of each frame — the difference to the shot's clean plate when the pipeline hands one
over as a hint (a still camera), else the u2netp mask, else the difference to the border colour —
splits it into connected objects, and groups objects across frames by appearance (a colour
histogram, aspect ratio and fill). Names are descriptive only ("red tall object"). It answers
only the products question (`ProductsAnswer`)."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image
from pydantic import BaseModel

from reelforge.errors import ProviderError, ProviderUnavailable
from reelforge.providers.limits import Limits
from reelforge.providers.vision.base import FoundProduct, ProductBox, ProductsAnswer, VisionRequest
from reelforge.settings import Settings

WORK_WIDTH = 480
MIN_AREA = 0.004  # an object covers at least this share of the frame
GROUP_DISTANCE = 0.45


@dataclass
class Blob:
    image: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in work pixels
    size: tuple[int, int]  # work frame (w, h)
    hist: np.ndarray
    aspect: float
    fill: float
    area: float  # share of the frame
    sharpness: float
    cropped: bool
    rgb: tuple[float, float, float]


class LocalVision:
    name = "local"
    model = "local-saliency"  # not a model of products: masks + appearance grouping

    def __init__(self, settings: Settings | None = None, limits: Limits | None = None) -> None:
        self.settings = settings

    async def ask(self, request: VisionRequest) -> BaseModel:
        if request.response_model is not ProductsAnswer:
            raise ProviderError(self.name, f"the local vision provider only finds products, not "
                                f"{request.response_model.__name__}", reason="bad_request",
                                hint="use --vision gemini or openai for other questions")
        return await asyncio.to_thread(find_products, list(request.images), request.hints.get("masks"))


def create(settings: Settings, limits: Limits) -> LocalVision:
    return LocalVision(settings, limits)


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB")
        if rgb.width > WORK_WIDTH:
            rgb = rgb.resize((WORK_WIDTH, round(rgb.height * WORK_WIDTH / rgb.width)), Image.Resampling.BILINEAR)
        return np.asarray(rgb)


def subject_mask(rgb: np.ndarray, hint: bytes | None) -> np.ndarray:
    """The salient subject: the hint mask, else u2netp, else what differs from the border colour."""
    h, w = rgb.shape[:2]
    if hint:
        with Image.open(io.BytesIO(hint)) as m:
            return np.asarray(m.convert("L").resize((w, h), Image.Resampling.NEAREST)) > 127
    try:
        from reelforge.imaging.cutout.ml import predict_mask

        return predict_mask(rgb) > 0.5
    except ProviderUnavailable:
        border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.float32)
        diff = np.abs(rgb.astype(np.float32) - np.median(border, axis=0)).max(axis=2)
        return diff > 40


def blobs_of(index: int, rgb: np.ndarray, mask: np.ndarray) -> list[Blob]:
    h, w = mask.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    lap = cv2.Laplacian(gray, cv2.CV_32F)
    found = []
    for label in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[label])
        if area < MIN_AREA * h * w:
            continue
        region = (labels == label).astype(np.uint8)
        hist = cv2.calcHist([hsv], [0, 1], region, [18, 4], [0, 180, 0, 256])
        hist = cv2.normalize(hist, hist, 1, 0, cv2.NORM_L1).flatten()
        inside = region.astype(bool)
        found.append(Blob(index, (x, y, x + bw, y + bh), (w, h), hist, bh / max(bw, 1), area / max(bw * bh, 1),
                          area / (h * w), float(lap[inside].var()),
                          x == 0 or y == 0 or x + bw >= w or y + bh >= h,
                          tuple(float(c) for c in rgb[inside].mean(axis=0))))  # type: ignore[arg-type]
    return found


def distance(a: Blob, b: Blob) -> float:
    colour = cv2.compareHist(a.hist.astype(np.float32), b.hist.astype(np.float32), cv2.HISTCMP_BHATTACHARYYA)
    shape = abs(np.log(a.aspect / b.aspect)) * (0.3 if a.cropped or b.cropped else 1.0)
    return float(colour + 0.5 * shape + 0.5 * abs(a.fill - b.fill))


def group(blobs: list[Blob]) -> list[list[Blob]]:
    """Greedy grouping, largest objects first: each joins the nearest group within reach."""
    groups: list[list[Blob]] = []
    for blob in sorted(blobs, key=lambda b: (b.cropped, -b.area)):
        best = min(((min(distance(blob, m) for m in g), g) for g in groups), default=(None, None), key=lambda t: t[0])
        if best[0] is not None and best[0] < GROUP_DISTANCE and best[1] is not None:
            best[1].append(blob)
        else:
            groups.append([blob])
    return groups


def colour_name(rgb: tuple[float, float, float]) -> str:
    r, g, b = (c / 255 for c in rgb)
    h, s, v = cv2.cvtColor(np.array([[[r, g, b]]], np.float32), cv2.COLOR_RGB2HSV)[0, 0]
    if v < 0.2:
        return "black"
    if s < 0.2:
        return "white" if v > 0.8 else "grey"
    names = [(15, "red"), (45, "orange"), (70, "yellow"), (160, "green"), (200, "cyan"), (260, "blue"),
             (300, "purple"), (340, "pink"), (361, "red")]
    return next(name for limit, name in names if h < limit)


def shape_name(aspect: float, fill: float) -> str:
    if aspect > 1.6:
        return "tall"
    if aspect < 0.6:
        return "wide"
    return "round" if 0.70 < fill < 0.85 else "compact"


def _centring(blob: Blob) -> float:
    (x0, y0, x1, y1), (w, h) = blob.box, blob.size
    return 1.0 - min(1.0, float(np.hypot((x0 + x1) / (2 * w) - 0.5, (y0 + y1) / (2 * h) - 0.5)) / 0.7071)


def best_of(members: list[Blob]) -> Blob:
    """Whole (not touching the frame edge), then sharp, large and centred."""
    whole = [m for m in members if not m.cropped and _margin(m) > 0.012] or members
    return max(whole, key=lambda m: np.log1p(m.sharpness) + 2.0 * np.sqrt(m.area) + 0.5 * _centring(m))


def _margin(blob: Blob) -> float:
    (x0, y0, x1, y1), (w, h) = blob.box, blob.size
    return min(x0 / w, y0 / h, 1 - x1 / w, 1 - y1 / h)


def find_products(images: list[bytes], masks: list[bytes | None] | None = None) -> ProductsAnswer:
    blobs: list[Blob] = []
    for i, data in enumerate(images):
        rgb = _decode(data)
        blobs.extend(blobs_of(i, rgb, subject_mask(rgb, masks[i] if masks else None)))
    products = []
    for n, members in enumerate(sorted(group(blobs), key=lambda g: min(m.image for m in g)), start=1):
        best = best_of(members)
        name = f"product {n}: {colour_name(best.rgb)} {shape_name(best.aspect, best.fill)} object"
        boxes = [ProductBox(image=m.image, box_2d=_box_2d(m)) for m in sorted(members, key=lambda m: m.image)]
        products.append(FoundProduct(name=name, description=f"found locally in {len(members)} frame(s) by its "
                                     "mask and colour (no model of products)", best_image=best.image, boxes=boxes))
    return ProductsAnswer(products=products)


def _box_2d(blob: Blob) -> list[int]:
    (x0, y0, x1, y1), (w, h) = blob.box, blob.size
    return [round(y0 * 1000 / h), round(x0 * 1000 / w), round(y1 * 1000 / h), round(x1 * 1000 / w)]
