"""service layer (see docs/design.md)."""
