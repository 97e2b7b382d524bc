"""The preview before any change: what changes, the exact request the ERP will get, every
return it touches; a confirmation that names the target and the count."""

from __future__ import annotations

import json
from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ...domain.actions import Plan
from ...domain.codes import Action
from ..presenter import Presenting

TITLES = {Action.REMAP_SKU: "Remap SKU", Action.REMAP_CODE: "Remap code", Action.FIX_REFERENCE:
          "Fix reference", Action.REQUEUE_POSTING: "Re-queue posting", "undo": "Undo"}


def confirm_label(plans: list[Plan]) -> str:
    allowed = [p for p in plans if p.allowed]
    if len(plans) == 1:
        plan = plans[0]
        touched = len(plan.returns)
        return (f"{TITLES.get(plan.action, plan.action)}: {plan.target}"
                + (f" ({touched} return{'s' if touched != 1 else ''})" if touched else ""))
    return (f"{TITLES.get(plans[0].action, plans[0].action)} on {len(allowed)} of "
            f"{len(plans)} marked returns")


class PreviewScreen(Presenting, ModalScreen[bool]):
    """`y` or the button applies; `n` / Esc cancels. Refused plans only offer Close.

    In presenter mode every word of it is masked: the target, the changes, the returns,
    the refusal and the request (its URL names the tenant, its body the customer)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "apply", "Apply", id="preview.apply"),
        Binding("n,escape", "cancel", "Cancel", id="preview.cancel"),
    ]

    def __init__(self, plans: list[Plan], *, read_only: bool = False) -> None:
        super().__init__()
        self.plans = plans
        self.read_only = read_only

    @property
    def can_apply(self) -> bool:
        return not self.read_only and any(p.allowed for p in self.plans)

    def compose(self) -> ComposeResult:
        with Vertical(id="preview-dialog", classes="dialog"):
            yield Static(self._title(), classes="dialog-title", id="preview-title")
            with VerticalScroll(id="preview-body"):
                for n, plan in enumerate(self.plans):
                    yield Static(self._summary(plan), classes="preview-plan", id=f"plan-{n}")
                    if plan.request and plan.allowed:
                        yield Static(Text("Request to the ERP:", style="bold"))
                        yield Static(self._request(plan), classes="preview-request",
                                     id=f"request-{n}")
            if self.read_only:
                yield Static(Text("Read-only session: nothing will be changed.",
                                  style="bold"), classes="dialog-note")
            with Horizontal(classes="dialog-buttons"):
                if self.can_apply:
                    count = sum(len(p.returns) or 1 for p in self.plans if p.allowed)
                    yield Button(f"Apply: {count} return{'s' if count != 1 else ''} (y)",
                                 variant="warning", id="preview-apply")
                yield Button("Cancel (Esc)" if self.can_apply else "Close (Esc)",
                             id="preview-cancel")

    def presenter_changed(self) -> None:
        """Presenter mode switched while the preview is open: every part shown again."""
        self.query_one("#preview-title", Static).update(self._title())
        for n, plan in enumerate(self.plans):
            self.query_one(f"#plan-{n}", Static).update(self._summary(plan))
            for request in self.query(f"#request-{n}").results(Static):
                request.update(self._request(plan))

    def _title(self) -> Text:
        return Text(self.safe(confirm_label(self.plans)), style="bold")

    def _request(self, plan: Plan) -> Syntax:
        request = self.masker.record(plan.request) if self.presenter else plan.request
        return Syntax(json.dumps(request, indent=2, default=str), "json", word_wrap=True,
                      theme="ansi_dark" if self.app.current_theme.dark else "ansi_light")

    def _summary(self, plan: Plan) -> Text:
        safe = self.safe
        text = Text()
        if len(self.plans) > 1:
            text.append(f"{safe(', '.join(plan.returns) or plan.target)}: ", style="bold")
        if not plan.allowed:
            text.append(f"refused: {safe(plan.refusal)}", style="bold red")
            return text
        for change in plan.changes:
            text.append(safe(change) + "\n")
        if plan.returns and len(self.plans) == 1:
            text.append(f"Returns touched ({len(plan.returns)}): ", style="bold")
            text.append(safe(", ".join(plan.returns)))
        return text

    def action_apply(self) -> None:
        if self.can_apply:
            self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#preview-apply")
    def _apply(self) -> None:
        self.action_apply()

    @on(Button.Pressed, "#preview-cancel")
    def _cancel(self) -> None:
        self.action_cancel()
