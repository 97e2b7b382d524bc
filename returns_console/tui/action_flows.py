"""How an action runs in the console: a form (when it needs input), the plan made in a
worker thread, the preview and confirmation, the apply in a worker, the result, a refresh.

A mixin for the App: screens ask for an action with a message (tui/requests.py), the app
runs the flow here, and neither reaches the services from a screen.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from textual import work

from ..domain.codes import Action, Code

# What an action needs (the services that write, the dialogs) is imported when an action
# first runs, not with the console: the queue's first frame needs none of it.
if TYPE_CHECKING:
    from textual.app import App

    from ..domain.actions import Plan
    from ..domain.findings import Finding
    from ..domain.model import ReturnCase
    from ..services.actions import Actions, Outcome
    from ..services.check import CheckReport
    from ..services.session import Loaded, Session
    from .screens.action_form import Field
    from .screens.queue import QueueScreen

    _AppBase = App[None]
else:
    _AppBase = object

MakePlans = Callable[[dict[str, str]], "list[Plan]"]


class ActionFlows(_AppBase):
    """The console app's action flows: its self-type is the App, which provides what is
    declared here (the session, the last report, the queue, a refresh)."""

    _open_ref: str | None
    if TYPE_CHECKING:
        loaded: Loaded | None
        session: Session
        refreshes_started: int

        @property
        def actions(self) -> Actions | None: ...

        @property
        def report(self) -> CheckReport | None: ...

        def _queue(self) -> QueueScreen | None: ...

        def refresh_soon(self) -> None: ...

        def refresh_triage(self) -> None: ...

    # -- the generic flow -------------------------------------------------------------------

    def start_action(self, title: str, fields: list[Field], make: MakePlans, *,
                     note: str = "") -> None:
        if self.actions is None:
            self.notify("Actions are not available in this session", severity="warning")
            return
        if self.loaded is None or not self.loaded.report.cases:
            self.notify("Wait for the first refresh: actions need the records behind the "
                        "report", severity="warning")
            return

        def after_form(values: dict[str, str] | None) -> None:
            if values is not None:
                self._plan(title, make, values, fields, note)

        if fields:
            from .screens.action_form import ActionForm

            self.push_screen(ActionForm(title, fields, note=note), after_form)
        else:
            after_form({})

    def _ask_again(self, title: str, make: MakePlans, fields: list[Field], note: str,
                   values: dict[str, str], why: str) -> None:
        """A refused plan sends the operator back to the form with what was typed and what
        was wrong, not to an empty start."""
        kept = [replace(f, value=values.get(f.name, f.value)) for f in fields]
        self.start_action(title, kept, make, note=f"Not possible: {why}"
                          + (f"\n{note}" if note else ""))

    @work(thread=True, group="action", exit_on_error=False)
    def _plan(self, title: str, make: MakePlans, values: dict[str, str],
              fields: list[Field] | None = None, note: str = "") -> None:
        try:
            plans = make(values)
        except ByHand as exc:  # nothing the console can do itself: the step to take, to read
            self.call_from_thread(self.notify, str(exc), title=title, severity="warning",
                                  timeout=30)
            return
        except Exception as exc:  # planning reads the ERP's raw data: never a traceback
            self.call_from_thread(self.notify, f"{title}: {exc}", severity="error")
            return
        self.call_from_thread(self._preview, title, make, values, plans, fields or [], note)

    def _preview(self, title: str, make: MakePlans, values: dict[str, str],
                 plans: list[Plan], fields: list[Field] | None = None, note: str = "") -> None:
        def confirmed(ok: bool | None) -> None:
            if not ok:
                refused = [p.refusal for p in plans if not p.allowed]
                if fields and plans and len(refused) == len(plans):
                    self._ask_again(title, make, fields, note, values, refused[0] or "")
                return
            if any(w.group == "apply" and w.is_running for w in self.workers):
                self.notify("Another action is still being applied; wait for its result",
                            severity="warning")
                return
            self._mark_in_flight(plans, ["sending"] * len(plans))
            self._apply(title, make, values, plans)

        from .screens.preview import PreviewScreen

        self.push_screen(PreviewScreen(plans, read_only=self.session.read_only), confirmed)

    @work(thread=True, group="apply", exit_on_error=False)
    def _apply(self, title: str, make: MakePlans, values: dict[str, str],
               plans: list[Plan]) -> None:
        actions = self.actions
        assert actions is not None  # start_action refuses to start without them
        try:
            if plans and plans[0].action == "undo":
                outcomes = [actions.apply_undo(plans[0])]
            elif len(plans) == 1:
                outcomes = [actions.apply(plans[0])]
            else:
                outcomes = actions.apply_all(plans)
        except Exception as exc:
            self.call_from_thread(self.notify, f"{title} failed: {exc}", severity="error",
                                  timeout=30)
            return
        self.call_from_thread(self._done, title, make, values, plans, outcomes)

    def _mark_in_flight(self, plans: list[Plan], states: list[str]) -> None:
        """The queue rows each plan fixes, marked at once (a large queue's refresh takes
        a while): `sending`, then `sent` or `failed` until a later refresh lands; "" unmarks
        (a conflict: the plan is made again)."""
        from ..domain.actions import FIXES

        queue = self._queue()
        if queue is None or self.report is None:
            return
        rows: dict[str, str] = {}
        for plan, state in zip(plans, states, strict=False):
            if not plan.allowed:
                continue
            fixes, refs = FIXES.get(plan.action, frozenset()), set(plan.returns)
            for f in self.report.findings:
                if f.return_ref in refs and f.code in fixes:
                    rows[f.id] = state
        if rows:
            queue.mark_in_flight(rows, self.refreshes_started)

    def _done(self, title: str, make: MakePlans, values: dict[str, str], plans: list[Plan],
              outcomes: list[Outcome]) -> None:
        self._audit_changed()
        if len(plans) == len(outcomes):  # one outcome per plan
            self._mark_in_flight(plans, ["sent" if o.ok else "failed" if o.conflict is None
                                         else "" for o in outcomes])
        if len(outcomes) == 1:
            outcome = outcomes[0]
            if outcome.conflict is not None:
                if self._learn(plans[0], outcome.conflict):
                    self.notify(outcome.message, title=title, severity="warning", timeout=15)
                    self._plan(title, make, values)
                else:  # no fresh record to plan from: the same ETag would conflict again
                    self.notify("The record changed in the ERP and could not be read again; "
                                "refresh (r) and try once more", title=title,
                                severity="warning", timeout=20)
                return
            self.notify(outcome.message, title=title,
                        severity="information" if outcome.ok else "error",
                        timeout=10 if outcome.ok else 30)
        else:
            from .screens.results import ResultsScreen

            self.push_screen(ResultsScreen(title, outcomes))
        if len(plans) > 1:  # a bulk action is done with its marks
            queue = self._queue()
            if queue is not None:
                queue.clear_marks()
        if any(o.ok for o in outcomes):
            self._follow(plans[0])
            self.refresh_soon()

    def _follow(self, plan: Plan) -> None:
        """A fixed reference moves an unlinked ERP record onto its return: the unlinked one
        is gone after the refresh, so the return it now belongs to opens instead."""
        from .screens.return_detail import ReturnScreen

        link = plan.parameters.get("link") if plan.action == Action.FIX_REFERENCE else None
        screen = self.screen
        if (link and isinstance(screen, ReturnScreen) and screen.case.unlinked
                and screen.case.return_ref != link):
            self.pop_screen()
            self._open_ref = link

    def _learn(self, plan: Plan, fresh: dict) -> bool:
        """A conflict hands back the record as it is now: plan again from it (laid over the
        raw records the report came with, which stay as they were)."""
        ref = plan.parameters.get("record")
        if not (ref and fresh and self.loaded is not None):
            return False
        # ChainMap only reads the maps behind the first: the raw records are not copied
        self.loaded.raw = ChainMap({ref: fresh}, cast("MutableMapping[str, Any]",
                                                      self.loaded.raw))
        return True

    # -- the actions, from a return ---------------------------------------------------------

    def _now_loaded(self) -> Loaded:
        """The report a plan is made from: start_action runs a plan only once there is one."""
        assert self.loaded is not None
        return self.loaded

    def return_action(self, name: str, case: ReturnCase, findings: Sequence[Finding]) -> None:
        actions = self.actions
        if actions is None:
            self.notify("Actions are not available in this session", severity="warning")
            return
        from ..domain.actions import CODE_KIND_OF, FIXES
        from ..services.actions import erp_records
        from .screens.action_form import Field

        first = _first(findings, FIXES.get(name, frozenset()))
        ref = case.return_ref
        if name == Action.REMAP_SKU:
            sku = (first.platform_value if first else None) or (
                case.platform.lines[0].sku if case.platform.lines else "")
            ways = self.session.erp_item_ways
            fields = [
                Field("sku", "Platform SKU", sku or ""),
                Field("item", "ERP item number", "", "e.g. TEE-GRN-XL"),
                Field("factor", "ERP units per platform unit", "1"),
                Field("uom", "ERP unit of measure (empty: the item's base unit)", "")]
            if ways:  # an ERP that can find an item another way than by its number
                fields.append(Field("match_by", f"Found by (empty: the profile's way; "
                                    f"{', '.join(ways)})", ""))
            self.start_action("Remap SKU", fields,
                lambda v: [actions.plan_remap_sku(self._now_loaded(), v["sku"], v["item"],
                                                  v["factor"] or "1", v["uom"] or None,
                                                  v.get("match_by") or None)],
                note=_similar("ERP items", sku or "", self.loaded.master.items
                              if self.loaded and self.loaded.master else {}))
        elif name == Action.REMAP_CODE:
            code = first.code if first else Code.REASON_UNMAPPED
            kind = CODE_KIND_OF.get(code, "reason")
            self.start_action("Remap code", [
                Field("kind", "Kind (reason, disposition, location, fee, payment_method)",
                      kind),
                Field("code", "Platform code", (first.platform_value if first else "") or ""),
                Field("erp", "ERP code", ""),
                Field("location", "Location (dispositions only)", "")],
                lambda v: [actions.plan_remap_code(self._now_loaded(), v["kind"], v["code"],
                                                   v["erp"], v["location"] or None)],
                note=_known_codes(self.loaded.master if self.loaded else None, kind))
        elif name == Action.FIX_REFERENCE:
            records = erp_records(case)
            self.start_action("Fix reference", [
                Field("link", "New reference (the platform return it belongs to)", "",
                      "e.g. R-100088"),
                Field("record", "ERP record", records[0] if records else "")],
                lambda v: [actions.plan_fix_reference(self._now_loaded(), ref, v["link"],
                                                      v["record"] or None)],
                note=f"Changes the link key on the ERP record of {ref}. "
                + _likely_returns(case, self.loaded.report.cases if self.loaded else []))
        elif name == Action.REQUEUE_POSTING:
            self.start_action("Re-queue posting", [],
                              lambda v: [actions.plan_requeue(self._now_loaded(), ref)])
        elif name == "audit":
            from .screens.audit import AuditScreen

            self.push_screen(AuditScreen(actions, return_ref=ref))

    def triage_action(self, kind: str, findings: Sequence[Finding]) -> None:
        """acknowledge / snooze / assign / note / tag, on one or many exceptions."""
        if self.actions is None or not findings:
            return
        if kind not in TRIAGE_PROMPTS:
            self._triage(kind, list(findings), None)
            return
        self._triage_form(kind, list(findings), "", "")

    def _triage_form(self, kind: str, findings: list[Finding], value: str, why: str) -> None:
        """The value for a triage step, naming the exceptions it is for; after a refusal
        (a bad or past date) again, with what was typed and what was wrong."""
        def after(values: dict[str, str] | None) -> None:
            if values is not None:
                self._triage(kind, findings, values["value"])

        from .screens.action_form import ActionForm, Field

        label, hint = TRIAGE_PROMPTS[kind]
        count = len(findings)
        named = ", ".join(f"{f.code.value} on {f.return_ref}" for f in findings[:3])
        more = f" and {count - 3} more" if count > 3 else ""
        note = (f"Not possible: {why}\n" if why else "") + f"For {named}{more}."
        self.push_screen(ActionForm(f"{kind.title()} {count} exception"
                                    f"{'s' if count != 1 else ''}",
                                    [Field("value", label, value, hint)], note=note), after)

    @work(thread=True, group="action", exit_on_error=False)
    def _triage(self, kind: str, findings: list[Finding], value: str | None) -> None:
        import uuid

        from ..services.actions import Outcome

        batch = uuid.uuid4().hex[:12] if len(findings) > 1 else None
        outcomes = []
        for f in findings:
            try:
                assert self.actions is not None  # triage_action starts only with them
                outcomes.append(self.actions.set_triage(f, kind, value, batch=batch))
            except Exception as exc:  # the store or the audit log refused: said, not lost
                outcomes.append(Outcome(False, f"{f.return_ref} {f.code.value}: not "
                                        f"recorded: {exc}", return_ref=f.return_ref))
        self.call_from_thread(self._triaged, kind, outcomes, findings, value)

    def _triaged(self, kind: str, outcomes: list[Outcome], findings: list[Finding] | None = None,
                 value: str | None = None) -> None:
        if findings and value is not None and outcomes and not any(o.ok for o in outcomes) \
                and all(o.seq is None for o in outcomes):
            # refused before anything was recorded (a bad value): ask again, keep the input
            self._triage_form(kind, findings, value, outcomes[0].message)
            return
        if len(outcomes) == 1:
            o = outcomes[0]
            self.notify(o.message, severity="information" if o.ok else "error")
        else:
            from .screens.results import ResultsScreen

            self.push_screen(ResultsScreen(kind.title(), outcomes))
            queue = self._queue()
            if queue is not None:  # a bulk step is done with its marks
                queue.clear_marks()
        self._audit_changed()
        self.refresh_triage()

    def _audit_changed(self) -> None:
        """New audit rows: an audit screen open under the dialogs shows them at once."""
        from .screens.audit import AuditScreen

        for screen in self.screen_stack:
            if isinstance(screen, AuditScreen):
                screen.reload()

    def undo(self, seq: int) -> None:
        if self.actions is None:
            return

        actions = self.actions

        def make(_: dict[str, str]) -> list[Plan]:
            plan = actions.undo_plan(seq)
            if isinstance(plan, str):
                raise ByHand(plan)
            return [plan]

        self.start_action("Undo", [], make)


class ByHand(Exception):
    """No plan: the sentence says what to do instead (e.g. undo an ERP write by hand)."""


def _known_codes(master: Any, kind: str) -> str:
    """The ERP's own codes for a kind, where it publishes them (what a remap may point to)."""
    if master is None:
        return ""
    known = {"reason": master.reasons, "location": master.locations,
             "payment_method": master.payment_methods, "disposition": master.locations}.get(
        kind, frozenset())
    what = "ERP locations" if kind == "disposition" else f"ERP {kind.replace('_', ' ')} codes"
    return f"{what}: {', '.join(sorted(known))}" if known else ""


def _similar(what: str, text: str, known: Any) -> str:
    """A hint with the closest existing identifiers, so a remap starts from real ones."""
    import difflib

    names = [str(n) for n in known]
    close = difflib.get_close_matches(text, names, n=5, cutoff=0.5)
    return f"{what} like it: {', '.join(close)}" if close else ""


#: The triage steps that take a value: (label, hint) of the one field.
TRIAGE_PROMPTS = {"snooze": ("Snooze until (date)", "e.g. 2026-11-30"),
                  "assign": ("Assign to", "a name or team"), "note": ("Note", ""),
                  "tag": ("Tag", "e.g. waiting-on-3pl")}


def _likely_returns(case: ReturnCase, cases: Sequence[ReturnCase]) -> str:
    """The platform returns the record most likely belongs to (typo first)."""
    from ..domain.actions import suggest_links

    found = suggest_links(case, cases)
    return f"Platform returns like it: {', '.join(found)}" if found else ""


def _first(findings: Sequence[Finding], codes: frozenset[Code]) -> Finding | None:
    return next((f for f in findings if f.code in codes), None)
