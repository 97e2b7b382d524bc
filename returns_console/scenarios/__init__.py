"""Deterministic demo and test scenarios: healthy returns with planted exceptions.

A scenario is built in the canonical snapshot's JSON shape (plain dicts), so the same data
feeds `check --snapshot`, the demo, the benchmark and (rendered into each API's own shape)
the sandbox simulators. Every planted exception is recorded as ground truth.
"""
