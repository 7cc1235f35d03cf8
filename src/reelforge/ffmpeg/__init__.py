"""ffmpeg layer (see DESIGN.md)."""
