"""pipelines layer (see DESIGN.md)."""
