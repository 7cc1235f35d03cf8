"""imaging layer (see docs/design.md)."""
