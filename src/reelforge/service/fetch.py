"""The guarded downloader moved to `reelforge.fetch` (product-shots downloads videos with it too);
this name stays for the service's imports."""

from reelforge.fetch import FetchRefused, GuardedDownloader, is_public, system_resolver

__all__ = ["FetchRefused", "GuardedDownloader", "is_public", "system_resolver"]
