"""Connectors: one module per real system, adapting its own JSON to the canonical model.

A connector is the only place that knows a system's field names. All of them talk through
the shared HTTP layer (`http.py`), which owns timeouts, concurrency, retries and the call log.
"""
