"""The environment in its colour at the top of every screen (nobody mistakes production).

The bar asks to be painted with a message that bubbles up to the app, which knows the
session, the environment and presenter mode; screens never reach into the app for it."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import Static


class EnvironmentBar(Static):
    class Mounted(Message):
        """A bar is on screen and wants painting."""

        def __init__(self, bar: EnvironmentBar) -> None:
            super().__init__()
            self.bar = bar

    def on_mount(self) -> None:
        self.post_message(self.Mounted(self))
