"""The canonical model of a return and the reconciliation engine.

Nothing here knows of HTTP, SQLite or the terminal: connectors adapt each system's JSON into
these models, and the CLI and TUI only read the findings the engine produces.
"""
