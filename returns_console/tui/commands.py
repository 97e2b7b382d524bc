"""The command palette's commands, namespaced ("theme: …", "view: …", "queue: …")."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from .queue_model import OWNERS, SORTABLE

if TYPE_CHECKING:
    from .app import ReturnsConsole


class ConsoleCommands(Provider):
    """Everything the console does, findable by name."""

    @property
    def console_app(self) -> ReturnsConsole:
        """The app: only ReturnsConsole lists these commands (its COMMANDS)."""
        return cast("ReturnsConsole", self.app)

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = self.console_app
        out: list[tuple[str, Callable[[], object], str]] = []
        for name in sorted(t for t in app.available_themes if t.startswith("returns-")):
            out.append((f"theme: {name.removeprefix('returns-')}",
                        partial(app.use_theme, name), f"Switch to the {name} theme"))
        out.append(("presenter: toggle", app.action_toggle_presenter,
                    "Mask customer details and hide hostnames, for a room"))
        out.append(("queue: refresh", app.action_refresh_data,
                    "Read both systems again (in the background)"))
        out.append(("help: keys", app.action_help, "What each key does here"))
        queue = app._queue()
        if queue is not None:
            for owner in OWNERS:
                out.append((f"view: {owner}", partial(self._view, owner),
                            _view_help(owner)))
            for column in SORTABLE:
                out.append((f"queue: sort by {column}", partial(self._sort, column),
                            "Sort the queue (again to reverse)"))
            out.append(("queue: command bar", partial(self._queue_action, "command"),
                        ":return REF, :order REF, :sku SKU, :code CODE, :owner TEAM"))
            out.append(("queue: filter", partial(self._queue_action, "filter"),
                        "Filter across every column"))
        return out + self._screen_commands()

    def _screen_commands(self) -> list[tuple[str, Callable[[], object], str]]:
        """The keys of the screen the palette was opened on (one that names itself,
        `PALETTE_NAME`), found by what they do: at 80 columns its footer shows the first
        few only. An action the screen does not offer here (the ERP cannot do it) is not
        listed, as its key is not shown."""
        screen = self.screen
        label = getattr(screen, "PALETTE_NAME", None)
        if not label:
            return []
        own = {b.action for b in type(screen).BINDINGS if isinstance(b, Binding)}
        out: list[tuple[str, Callable[[], object], str]] = []
        for active in screen.active_bindings.values():
            binding = active.binding
            if active.node is not screen or not active.enabled or not binding.description \
                    or binding.action not in own or binding.action.startswith("app."):
                continue
            out.append((f"{label}: {binding.description.lower()}",
                        partial(self.app.call_later, screen.run_action, binding.action),
                        f"{binding.description} (key {self.app.get_key_display(binding)})"))
        return out

    def _view(self, owner: str) -> None:
        self.console_app.switch_to_queue().set_owner(owner)

    def _sort(self, column: str) -> None:
        self.console_app.switch_to_queue().sort_by(column)

    def _queue_action(self, name: str) -> None:
        queue = self.console_app.switch_to_queue()
        self.app.call_later(queue.run_action, name)

    async def discover(self) -> Hits:
        for name, run, help_text in self._commands():
            yield DiscoveryHit(name, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, run, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), run, help=help_text)


def _view_help(owner: str) -> str:
    return "Show every team's exceptions" if owner == "all" else f"Show {owner}'s exceptions"
