"""What a screen asks the console app to do, as messages that bubble up to it: the screens
never reach into the app (which holds the session, the actions and the flows)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.message import Message

from ..domain.findings import Finding
from ..domain.model import ReturnCase
from .queue_model import View


class ReturnRequested(Message):
    """Open one return (by its return ref or order number) on its own screen."""

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref


class ActionRequested(Message):
    """An action on one return (remap, fix reference, re-queue, its audit log)."""

    def __init__(self, action: str, case: ReturnCase, findings: Sequence[Finding]) -> None:
        super().__init__()
        self.action, self.case, self.findings = action, case, findings


class BulkActionRequested(Message):
    """An action on many returns at once (re-queue the marked ones)."""

    def __init__(self, action: str, return_refs: Sequence[str]) -> None:
        super().__init__()
        self.action, self.return_refs = action, tuple(return_refs)


class TriageRequested(Message):
    """acknowledge / snooze / assign / note / tag / reopen, on one or many exceptions."""

    def __init__(self, kind: str, findings: Sequence[Finding]) -> None:
        super().__init__()
        self.kind, self.findings = kind, list(findings)


class AuditRequested(Message):
    """The audit log, of everything or of one return."""

    def __init__(self, return_ref: str | None = None) -> None:
        super().__init__()
        self.return_ref = return_ref


class UndoRequested(Message):
    """Undo (or say how to reverse) the audited action of row `seq`."""

    def __init__(self, seq: int) -> None:
        super().__init__()
        self.seq = seq


class ViewChanged(Message):
    """The queue's view (filter, sort, team) changed: the app keeps it for the next start."""

    def __init__(self, view: View) -> None:
        super().__init__()
        self.view = view
