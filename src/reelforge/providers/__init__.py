"""providers layer (see DESIGN.md)."""
