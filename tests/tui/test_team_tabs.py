"""The owner-team tabs: counts, the active tab, clicks, and a narrow terminal."""

from __future__ import annotations

from textual.app import App, ComposeResult

from returns_console.tui.widgets.team_tabs import TeamTabs

LABELS = {"all": "All", "finance": "Finance", "operations": "Operations", "cx": "CX"}


class _Host(App):
    def __init__(self) -> None:
        super().__init__()
        self.chosen: list[str] = []

    def compose(self) -> ComposeResult:
        yield TeamTabs(LABELS, active="all", id="teams")

    def on_team_tabs_chosen(self, message: TeamTabs.Chosen) -> None:
        self.chosen.append(message.key)


def _lines(tabs: TeamTabs) -> list[str]:
    return tabs.render().plain.split("\n")


async def test_counts_follow_labels_and_a_click_says_which_tab() -> None:
    app = _Host()
    async with app.run_test(size=(60, 5)) as pilot:
        tabs = app.query_one(TeamTabs)
        tabs.set_counts({"all": 12, "finance": 3, "operations": 9, "cx": 0})
        await pilot.pause()
        top, under = _lines(tabs)
        assert top.split() == ["All", "12", "Finance", "3", "Operations", "9", "CX", "0"]
        assert len(under) == 60  # the bar runs the whole width
        x = top.index("Operations")
        await pilot.click("#teams", offset=(x, 0))
        assert app.chosen == ["operations"]
        assert tabs.active == "all"  # choosing is the owner's to do
        await pilot.click("#teams", offset=(top.index("Finance") - 2, 0))  # between tabs
        assert app.chosen == ["operations"]


async def test_the_active_tab_stays_in_sight_on_a_narrow_terminal() -> None:
    app = _Host()
    async with app.run_test(size=(20, 5)) as pilot:
        tabs = app.query_one(TeamTabs)
        tabs.set_counts({"all": 12, "finance": 3, "operations": 9, "cx": 10})
        tabs.active = "cx"
        await pilot.pause()
        top, _ = _lines(tabs)
        assert top.rstrip().endswith("CX 10")
        await pilot.click("#teams", offset=(top.index("CX"), 0))
        assert app.chosen == ["cx"]


async def test_tab_reaches_the_tabs_and_arrows_choose_the_next() -> None:
    app = _Host()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.press("tab")
        assert app.focused is app.query_one(TeamTabs)
        await pilot.press("right", "left", "left")
        assert app.chosen == ["finance", "cx", "cx"]  # the owner never moved `active`
