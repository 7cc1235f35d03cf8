"""Local fakes of external services that speak their documented wire formats."""
