"""The environment in its colour at the top of every screen (nobody mistakes production).

The app knows the session, the environment and presenter mode; a bar asks it, through the
typed `EnvironmentHost` protocol, to paint it as it mounts (before its first frame, so it
never shows blank), and the app repaints every bar when presenter mode changes."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from textual.widgets import Static


@runtime_checkable
class EnvironmentHost(Protocol):
    def paint_environment(self, bar: Static) -> None: ...


class EnvironmentBar(Static):
    def on_mount(self) -> None:
        host = self.app
        if isinstance(host, EnvironmentHost):
            host.paint_environment(self)
