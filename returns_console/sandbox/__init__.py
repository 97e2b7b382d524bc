"""Simulators of the real APIs, served over HTTP on 127.0.0.1, for the demo and the tests."""
