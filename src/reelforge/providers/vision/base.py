"""The Vision capability: ask a model about images and get an answer that is validated against a
pydantic model (the same model gives the JSON schema the service is asked to follow). Shared by
product-shots ("which products are in these frames, where, which frame shows each best") and the
story pipeline (describe a character image).

A malformed answer — not JSON, or JSON that does not fit the model — is a `ProviderError` with
reason "malformed": it is not retried (the call was billed; the same request would likely
fail the same way)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reelforge.errors import ProviderError
from reelforge.providers.errors import malformed_error

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class VisionRequest:
    """Images (encoded bytes, in order: the model refers to them by index), a prompt and the
    pydantic model the answer must fit. `hints` carries local extras a model ignores (e.g.
    subject masks for the local finder)."""

    images: tuple[bytes, ...]
    prompt: str
    response_model: type[BaseModel]
    hints: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Vision(Protocol):
    name: str
    model: str

    async def ask(self, request: VisionRequest) -> BaseModel: ...


def parse_answer(provider: str, text: str | None, model: type[M]) -> M:
    """The model's text as a validated instance; malformed (not retried) otherwise."""
    if not text or not text.strip():
        raise ProviderError(provider, "the vision answer was empty", reason="empty",
                            hint="try again later or with fewer images per call")
    body = text.strip()
    if body.startswith("```"):  # some OpenAI-compatible servers fence JSON even when asked not to
        body = body.strip("`").removeprefix("json").strip()
    try:
        return model.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise malformed_error(provider, f"the answer does not fit {model.__name__}: {exc}") from None


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The plain JSON Schema of the answer model (what Gemini's responseJsonSchema and OpenAI's
    json_schema response format take)."""
    return model.model_json_schema()


# --- the product question (product-shots) ---------------------------------------------------------

class ProductBox(BaseModel):
    """Where a product is in one image: `box_2d` is [ymin, xmin, ymax, xmax] normalised to
    0..1000 (Gemini's convention)."""

    model_config = ConfigDict(extra="forbid")
    image: int = Field(ge=0, description="Index of the image (0-based, in the order sent).")
    box_2d: list[int] = Field(min_length=4, max_length=4, description="[ymin, xmin, ymax, xmax], 0..1000.")


class FoundProduct(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120, description="Short descriptive name, e.g. 'red water bottle'.")
    description: str = Field("", max_length=600, description="What it looks like (colour, shape, label).")
    best_image: int = Field(ge=0, description="Index of the image that shows this product best (sharp, whole, large).")
    boxes: list[ProductBox] = Field(min_length=1, description="Every image the product appears in, with its box.")


class ProductsAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    products: list[FoundProduct] = Field(description="Each distinct product once.")


PRODUCTS_PROMPT = (
    "These {count} images are frames of one product video, numbered 0 to {last} in the order given. "
    "List each distinct physical product that is shown (the goods being presented, not people, hands, "
    "furniture or the backdrop) exactly once, even if it appears in many frames. For each: a short "
    "descriptive name, a description, every image it appears in with its bounding box as box_2d = "
    "[ymin, xmin, ymax, xmax] normalised to 0-1000, and best_image: the frame that shows it most "
    "sharply, whole (not cut off by the frame edge) and large. Answer with JSON only.")


def products_request(images: list[bytes], hints: dict[str, Any] | None = None) -> VisionRequest:
    prompt = PRODUCTS_PROMPT.format(count=len(images), last=len(images) - 1)
    return VisionRequest(tuple(images), prompt, ProductsAnswer, dict(hints or {}))


def check_indices(provider: str, answer: ProductsAnswer, count: int) -> ProductsAnswer:
    """Image indices outside the request and impossible boxes are a malformed answer."""
    for product in answer.products:
        refs = [product.best_image, *(b.image for b in product.boxes)]
        if any(i >= count for i in refs):
            raise malformed_error(provider, f"product {product.name!r} names an image beyond the {count} sent")
        for b in product.boxes:
            y0, x0, y1, x1 = b.box_2d
            if not (0 <= y0 < y1 <= 1000 and 0 <= x0 < x1 <= 1000):
                raise malformed_error(provider, f"product {product.name!r} has an impossible box {b.box_2d}")
    return answer
