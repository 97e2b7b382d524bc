"""Use cases the CLI and the TUI share: they call these, never the connectors directly."""
