"""ffmpeg layer (see docs/design.md)."""
