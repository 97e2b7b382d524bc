"""The command palette lists what means something here (issue 10.11): our three themes, not
Textual's 24, and none of its Keys / Maximize / Screenshot commands."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import OptionList

from tests.tui.test_console import SIZE, _queue, app


async def _hits(pilot, typed: str) -> list[str]:
    await pilot.press(*typed)
    for _ in range(20):
        await pilot.pause(0.05)
    palette = pilot.app.screen
    assert isinstance(palette, CommandPalette)
    options = palette.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_the_palette_shows_our_themes_and_commands_only() -> None:
    async with app().run_test(size=SIZE) as pilot:
        await _queue(pilot)
        await pilot.press("ctrl+p")
        hits = await _hits(pilot, "theme")
        assert not [h for h in hits if h.split("\n")[0].strip() == "Theme"]  # Textual's 24
        themes = " | ".join(hits)
        for ours in ("dark", "light", "high-contrast"):
            assert f"theme: {ours}" in themes
        for theirs in ("nord", "gruvbox", "dracula", "textual-dark"):
            assert theirs not in themes
        for _ in range(5):
            await pilot.press("backspace")
        listed = " | ".join(await _hits(pilot, "s"))
        for theirs in ("Screenshot", "Maximize", "Keys"):
            assert theirs not in listed
        assert "queue: sort by" in listed


async def test_a_keymap_entry_that_takes_a_key_bound_elsewhere_is_warned_about() -> None:
    """Issue 10.9: `"queue.filter" = "q"` silently took q from quit."""
    async with app(keymap={"queue.filter": "q"}).run_test(size=SIZE) as pilot:
        await _queue(pilot)
        said = [n.message for n in pilot.app._notifications]
        assert any("queue.filter" in m and "app.quit" in m for m in said), said
    async with app(keymap={"queue.filter": "f"}).run_test(size=SIZE) as pilot:
        await _queue(pilot)
        assert not [n for n in pilot.app._notifications if "keymap" in n.message]


async def test_a_returns_actions_are_in_the_palette_as_its_keys_are() -> None:
    """At 80 columns the return screen's footer shows its first few keys; a person who
    looks for "re-queue" in the palette finds it, and choosing it does what its key does.
    An action the ERP cannot do is not offered there either."""
    from returns_console.tui.screens.return_detail import ReturnScreen

    async def said(pilot) -> list[str]:
        for _ in range(10):
            await pilot.pause(0.05)
        return [n.message for n in pilot.app._notifications]

    async with app().run_test(size=(80, 24)) as pilot:
        await _queue(pilot)
        await pilot.press("enter")
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, ReturnScreen)
        await pilot.press("ctrl+p")
        hits = await _hits(pilot, "re-queue")
        assert hits and hits[0].startswith("return: re-queue") and "key u" in hits[0]
        await pilot.press("enter")
        by_palette = await said(pilot)
        assert pilot.app.screen is screen and by_palette
        await pilot.press("u")
        assert (await said(pilot))[len(by_palette):] == by_palette[-1:]  # as its key does

        screen.erp_can = lambda action: False
        screen.refresh_bindings()
        await pilot.press("ctrl+p")
        listed = " | ".join(await _hits(pilot, "return"))
        # a mapping is the console's own: offered whatever the ERP can do
        assert "return: platform record" in listed and "return: remap sku" in listed
        for not_here in ("re-queue", "fix reference", "back", "copy selected text"):
            assert f"return: {not_here}" not in listed, listed
