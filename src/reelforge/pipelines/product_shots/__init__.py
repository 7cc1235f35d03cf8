"""Product shots from a video: frames → products → best frame → real cut-out → studio shots."""

from reelforge.pipelines.product_shots.job import (
    ProductShotsJob,
    ProductShotsOptions,
    ProductShotsResult,
)

__all__ = ["ProductShotsJob", "ProductShotsOptions", "ProductShotsResult"]
