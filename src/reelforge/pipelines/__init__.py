"""pipelines layer (see docs/design.md)."""
