"""The "re-imagined product" mode of the notes' system, kept only behind an explicit flag
(`--reimagined-product PROVIDER`): a text-to-image model draws a studio shot from each product's
*description*, so the product in it is imagined — not the seller's. Its files are named for it
(`products/<slug>/reimagined.png`), and the report and gallery say so next to each one. The
studio shots in `shots/` stay composited from the real pixels either way."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reelforge.atomic import save_image
from reelforge.runtime import RunOptions, RunReport, Step

if TYPE_CHECKING:
    from reelforge.pipelines.product_shots.job import ProductOutcome

NOTE = ("RE-IMAGINED: drawn by a text-to-image model from the product's description; the product in it is "
        "imagined, NOT the seller's (the shots/ images are the real product)")
FILE = "reimagined.png"


def prompt_for(product: ProductOutcome, described: bool = True) -> str:
    """The product's name (without its "product N:" number) and, when a vision model wrote one,
    its description (the local finder's description says how it was found, not what it is)."""
    import re

    what = re.sub(r"^product \d+:\s*", "", product.name)
    if described and product.description:
        what = f"{what}: {product.description}"
    return (f"professional studio product photograph of {what}, centred on a white seamless sweep, soft "
            "diffused light, gentle contact shadow, sharp focus")


def steps_for(products: list[ProductOutcome], provider: str, model: str | None, described: bool) -> list[Step]:
    return [Step(f"reimagine-{p.slug}", "image.generate", {"prompt": prompt_for(p, described), "aspect": "1:1"},
                 provider=provider, model=model, label=f"re-imagined {p.name}", billing=("image", 1))
            for p in products]


async def reimagine(runner: Any, ctx: Any, products: list[ProductOutcome], provider: str, model: str | None,
                    out: Path, budget_usd: float | None, title: str, described: bool = True
                    ) -> tuple[RunReport, list[str]]:
    """Generate one re-imagined image per product into its folder; (the run, warnings)."""
    steps = steps_for(products, provider, model, described)
    report: RunReport = await runner.run(steps, RunOptions(budget_usd, None, (), title=title))
    warnings = []
    for product, step in zip(products, steps, strict=True):
        outcome = report.outcomes.get(step.id)
        if outcome is None or outcome.result is None:
            warnings.append(f"no re-imagined image for {product.name} ({provider}): "
                            f"{outcome.error if outcome else 'not run'}")
            continue
        data = await asyncio.to_thread(ctx.store.read_bytes, outcome.result.artifacts[0])
        await asyncio.to_thread(_write, out / "products" / product.slug / FILE, data)
        product.files["reimagined"] = FILE
        product.reimagined = {"file": FILE, "provider": provider, "model": model, "prompt": step.params["prompt"],
                              "note": NOTE}
    return report, warnings


def _write(target: Path, data: bytes) -> None:
    """As PNG, whatever the provider answered with (JPEG, WebP)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        save_image(img.convert("RGB"), target)
