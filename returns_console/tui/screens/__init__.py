"""Screens: the exception queue and one return's two views side by side."""
