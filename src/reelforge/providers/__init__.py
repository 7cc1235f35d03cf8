"""providers layer (see docs/design.md)."""
