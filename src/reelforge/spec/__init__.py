"""spec layer (see DESIGN.md)."""
