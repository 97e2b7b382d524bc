"""Conformance corpus: what the vendors document, run through the connectors.

Each case cites a section of docs/vendors/ (and the vendor's original URL), says in one
sentence what the vendor documents, gives the input as the vendor sends it, and declares what
the connector must make of it. See `checker.py` for the expectation language.
"""
