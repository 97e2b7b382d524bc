"""Errors meant for a person: one clear line, no traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or configuration: the message says what is wrong and how to put it right."""

    exit_code = 2
