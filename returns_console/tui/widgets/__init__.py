"""Widgets of the console that Textual does not ship (or ships too slow for 10,000 rows)."""
