"""The local SQLite: last-sync cache (and, later, audit log, mappings, triage state)."""
