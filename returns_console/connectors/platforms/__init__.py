"""Returns platform connectors (systems of engagement)."""
