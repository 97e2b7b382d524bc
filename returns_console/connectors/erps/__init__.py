"""ERP connectors (systems of record)."""
