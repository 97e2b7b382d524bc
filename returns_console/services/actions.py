"""Operator actions carried out: planned (domain/actions.py), shown with the exact ERP request,
confirmed by the caller, applied, and audited before and after.

Every change, local or in the ERP, gets an audit row `pending` before it is made and a row
with its outcome after. A pending row a crash left behind is resolved at the next start by
asking the ERP what happened (`resolve_pending`). Read-only sessions refuse every write.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict, TypeVar

from ..connectors import loop as loops
from ..connectors.base import DeferredWriter, ReceiptWriter, ReturnOrderWriter
from ..connectors.errors import (
    AmbiguousResultError,
    ConflictError,
    ConnectorError,
    NotSentError,
)
from ..domain.actions import (
    Plan,
    plan_fix_reference,
    plan_remap_code,
    plan_remap_sku,
    plan_requeue_credit,
    plan_requeue_receipt,
    plan_requeue_return_order,
    refused,
)
from ..domain.codes import Action, Code
from ..domain.findings import Finding
from ..domain.model import ReturnCase
from ..domain.postings import RecordRef, WriteResult
from ..domain.reference import ErpMaster, Mappings
from ..domain.view import same_ref
from ..store.audit import HANDED_OVER, AuditLog
from ..store.leases import Leases
from ..store.triage import Triage, TriageStore
from .session import Loaded, Session

#: Fault injection for the crash tests (and for anyone checking recovery by hand): the
#: process kills itself at this point of an ERP write, as a power cut would.
CRASH_ENV = "RETURNS_CONSOLE_CRASH_AT"
#: A pending row whose process is gone, or (from another machine) older than this, was left
#: by a crash; a younger one from elsewhere may still be in flight and is left alone.
FOREIGN_PENDING_AGE = timedelta(minutes=15)
#: One write per link key at a time in this process (two clicks, two workers).
READ_ONLY = "read-only session: nothing is changed (start without --read-only to act)"
TRIAGE_KINDS = ("acknowledge", "snooze", "assign", "note", "tag", "reopen")


class Who(TypedDict):
    """Who acts, as every audit row records it."""

    operator: str
    profile: str
    systems: str


@dataclass(slots=True)
class Outcome:
    ok: bool
    message: str
    seq: int | None = None
    record_id: str | None = None
    #: The ERP record changed since it was read: here it is as it is now; plan again.
    conflict: dict | None = None
    return_ref: str | None = None


def _audits_refusal(plan_it: Callable[..., Plan]) -> Callable[..., Plan]:
    """A plan refused at the preview (an empty or unknown reference, an unknown item, a
    return the platform has not refunded) is an attempt too: written to the audit log as
    `refused` with the reason, though nothing was sent."""
    @functools.wraps(plan_it)
    def planned(self: Actions, *args: Any, **kwargs: Any) -> Plan:
        plan = plan_it(self, *args, **kwargs)
        if not plan.allowed and plan.refusal_row is None:
            plan = replace(plan, refusal_row=self.note_refusal(plan))
        return plan

    return planned


class Actions:
    """The console's hands: one per session."""

    def __init__(self, session: Session, *, audit_path: Path, triage_path: Path,
                 operator: str, audit_key: bytes | None = None,
                 witness: Path | None = None) -> None:
        self.session = session
        self.audit_path = audit_path
        #: A file outside the data folder that remembers an audit log exists here, so a
        #: deleted log (and its head file) reads as deleted, not as "no log yet".
        self.witness = witness
        #: Keys the audit chain (HMAC): rewriting it then needs the key as well as the file.
        self.audit_key = audit_key
        self.triage = TriageStore(triage_path)
        self.operator = operator
        self._erp = _ErpCalls(session)

    def _audit_log(self) -> AuditLog:
        log = AuditLog(self.audit_path, key=self.audit_key)
        if self.witness is not None and not self.witness.exists():
            remember_audit_log(self.witness, self.audit_path)
        return log

    # -- plans ----------------------------------------------------------------------------

    def _context(self, loaded: Loaded) -> tuple[Mappings, ErpMaster, list[ReturnCase]]:
        try:
            mappings = self.session.load_mappings()
        except RuntimeError:  # a snapshot file: plan against the tables it was checked with
            mappings = loaded.mappings or Mappings()
        return mappings, loaded.master or ErpMaster(), list(loaded.report.cases)

    @_audits_refusal
    def plan_remap_sku(self, loaded: Loaded, sku: str, item_no: str, factor: str = "1",
                       erp_uom: str | None = None, match_by: str | None = None) -> Plan:
        mappings, master, cases = self._context(loaded)
        ways = getattr(self.session, "erp_item_ways", ())
        return plan_remap_sku(mappings, master, cases, sku, item_no, factor, erp_uom,
                              match_by, ways)

    @_audits_refusal
    def plan_remap_code(self, loaded: Loaded, kind: str, code: str, erp_code: str,
                        location: str | None = None) -> Plan:
        mappings, master, cases = self._context(loaded)
        return plan_remap_code(mappings, master, cases, kind, code, erp_code, location)

    @_audits_refusal
    def plan_fix_reference(self, loaded: Loaded, return_ref: str, new_link: str,
                           record_ref: str | None = None) -> Plan:
        case = _case(loaded, return_ref)
        if case is None:
            return refused(Action.FIX_REFERENCE, return_ref,
                           f"no return {return_ref} in this check")
        refusal = _unsupported(self.session, Action.FIX_REFERENCE)
        if refusal:
            return refused(Action.FIX_REFERENCE, return_ref, refusal)
        refs = erp_records(case)
        if not refs and record_ref is None:
            return refused(Action.FIX_REFERENCE, return_ref, "the ERP has no record for this "
                           "return to change")
        writer = self.session.open_writer()
        if writer is None:
            return refused(Action.FIX_REFERENCE, return_ref, "this session cannot write to an ERP "
                           "(a snapshot file); open it on a profile")
        try:
            # the first of the return's records this ERP lets the link of change (describing
            # one sends nothing; a posted document an ERP keeps as it is says so)
            chosen = record_ref
            record_ref = record_ref or next(
                (r for r in refs if _describable(writer, r, new_link)), refs[0])
            kept = [(r, why) for r in refs if r != record_ref
                    and (why := _why_not(writer, r, new_link)) is not None
                    and not same_ref(_link_on(writer, loaded, case, r) or "", new_link)]
            if kept and chosen is None:
                # changing one record while a posted one keeps the old link leaves the ERP's
                # documents disagreeing: the person decides (in the ERP, or with --record)
                names = ", ".join(_record_name(case, r) for r, _ in kept)
                return refused(Action.FIX_REFERENCE, return_ref,
                               f"{names} keeps the old reference and cannot be changed "
                               f"through the API ({kept[0][1]}); changing "
                               f"{_record_name(case, record_ref)} alone would leave them "
                               "disagreeing: correct both in the ERP, or name the record with "
                               "--record to change it anyway", return_ref=return_ref)
            raw = loaded.raw.get(record_ref) if loaded.raw else None
            current = writer.link_of(raw) if isinstance(raw, dict) else None
            etag = writer.token_of(raw) if isinstance(raw, dict) else None
            plan = plan_fix_reference(case, record_ref, new_link, loaded.report.cases,
                                      current=current, link_label=writer.link_label)
            if not plan.allowed:
                return plan
            try:
                request = writer.describe_set_link(RecordRef.parse(record_ref), etag,
                                                   plan.after["link"] if plan.after
                                                   else new_link)
            except ValueError as exc:  # a record this ERP does not let change, in its words
                return refused(Action.FIX_REFERENCE, plan.target, str(exc), **plan.parameters)
        finally:
            _close(writer)
        why = self._why_not_here(Action.FIX_REFERENCE, request, writer)
        if why is not None:  # the installation's own rule, before anyone confirms
            return refused(Action.FIX_REFERENCE, plan.target, why, **plan.parameters)
        number = raw.get("number") if isinstance(raw, dict) else None
        # the document's number, not its GUID, even when the raw record is not at hand
        number = number or next((n.number for n in case.erp.credit_notes
                                 if n.raw_ref == record_ref and n.number), None) or next(
            (s.record_ids[0] for s in case.erp.stages.values()
             if s.raw_ref == record_ref and s.record_ids), None)
        kind = RecordRef.parse(record_ref).entity
        return replace(plan, request=request,
                       target=f"{kind} {number}" if number else plan.target,
                       parameters={**plan.parameters, "etag": etag, "return_ref": return_ref})

    @_audits_refusal
    def plan_requeue(self, loaded: Loaded, return_ref: str) -> Plan:
        case = _case(loaded, return_ref)
        if case is None:
            return refused(Action.REQUEUE_POSTING, return_ref, f"no return {return_ref} in this "
                           "check")
        mappings, master, _ = self._context(loaded)
        refusal = _unsupported(self.session, Action.REQUEUE_POSTING)
        if refusal:
            return refused(Action.REQUEUE_POSTING, return_ref, refusal)
        writer = self.session.open_writer()
        if writer is None:
            return replace(plan_requeue_credit(case, mappings, master),
                           refusal="this session cannot write to an ERP (a snapshot file); "
                           "open it on a profile")
        with self._audit_log() as audit:
            waiting = self._awaits_pickup(audit, return_ref)
        if waiting:
            _close(writer)
            return refused(Action.REQUEUE_POSTING, return_ref, f"a re-queue of {return_ref} was "
                           "handed to the ERP and awaits its pickup; nothing more to queue",
                           return_ref=return_ref)
        try:
            if not _needs_return_order(case, master) \
                    and _only_return_orders(self.session, master):
                # the return order exists and no credit note can be made here: say both
                # (a credit's own conditions, a refund say, are not the reason)
                made = plan_requeue_return_order(case, mappings, master)
                instead = master.instead.get(Code.CREDIT_NOTE_MISSING) or "create it in the ERP"
                return replace(made, refusal=f"{made.refusal or 'nothing to re-queue'}; a "
                               f"credit note cannot be made through this ERP's API: {instead}")
            if _needs_return_order(case, master):
                if not isinstance(writer, ReturnOrderWriter):
                    return refused(Action.REQUEUE_POSTING, return_ref, "this ERP's writer "
                                   "cannot create return orders", return_ref=return_ref)
                plan = plan_requeue_return_order(case, mappings, master,
                                                 writer.return_order_steps())
                if not plan.allowed or plan.order is None:
                    return plan
                try:
                    request = writer.describe_create_return_order(plan.order)
                except ValueError as exc:  # what this ERP needs first, in its own words
                    return refused(Action.REQUEUE_POSTING, plan.target, str(exc),
                                   **plan.parameters)
                why = self._why_not_here(Action.REQUEUE_POSTING, request, writer)
                if why is not None:  # the installation's own rule, before anyone confirms
                    return refused(Action.REQUEUE_POSTING, plan.target, why,
                                   **plan.parameters)
                return replace(plan, request=request)
            if _needs_receipt(case, master):
                if not isinstance(writer, ReceiptWriter):
                    return refused(Action.REQUEUE_POSTING, return_ref, "this ERP's writer "
                                   "cannot make receipts", return_ref=return_ref)
                plan = plan_requeue_receipt(case, mappings, master, writer.receipt_steps())
                if not plan.allowed or plan.receipt is None:
                    return plan
                try:
                    request = writer.describe_create_receipt(plan.receipt)
                except ValueError as exc:  # what this ERP needs first, in its own words
                    return refused(Action.REQUEUE_POSTING, plan.target, str(exc),
                                   **plan.parameters)
                return replace(plan, request=request)
            plan = plan_requeue_credit(case, mappings, master, writer.credit_steps())
            if not plan.allowed or plan.credit is None:
                return plan
            try:
                request = writer.describe_create_credit(plan.credit)
            except ValueError as exc:  # what this ERP needs first, in its own words
                return refused(Action.REQUEUE_POSTING, plan.target, str(exc), **plan.parameters)
        finally:
            _close(writer)
        return replace(plan, request=request)

    def plans_for(self, loaded: Loaded, action: str, return_refs: Sequence[str],
                  **kwargs: Any) -> list[Plan]:
        """One plan per return (bulk): re-queue, or fix reference with one link each."""
        if action == Action.REQUEUE_POSTING:
            return [self.plan_requeue(loaded, ref) for ref in return_refs]
        raise ValueError(f"no bulk form of {action}")

    # -- applying -------------------------------------------------------------------------

    def apply(self, plan: Plan, *, batch: str | None = None,
              return_ref: str | None = None) -> Outcome:
        """Carry out a confirmed plan. Nothing happens without an audit row."""
        ref = (return_ref or plan.parameters.get("return_ref")
               or (plan.returns[0] if len(plan.returns) == 1 else None))
        params = {**plan.parameters, "returns": list(plan.returns), "owner": _owner()}
        with self._audit_log() as audit:
            if not plan.allowed and plan.refusal_row is not None:  # written when planned
                return Outcome(False, plan.refusal or "refused", plan.refusal_row,
                               return_ref=ref)
            if self.session.read_only or not plan.allowed:
                why = READ_ONLY if self.session.read_only else plan.refusal
                seq = audit.record(**self._who(), return_ref=ref, action=plan.action,
                                   parameters=params, before=plan.before, request=plan.request,
                                   outcome="refused", error=why, batch=batch)
                return Outcome(False, why or "refused", seq, return_ref=ref)
            if plan.action in (Action.REMAP_SKU, Action.REMAP_CODE):
                return self._apply_mapping(audit, plan, params, ref, batch)
            if plan.action not in (Action.FIX_REFERENCE, Action.REQUEUE_POSTING):
                raise ValueError(f"unknown action {plan.action}")
            # One write per key at a time across every process on this audit log: the
            # look-up, the pending row and the write happen under the lease.
            key = _lease_key(plan, ref)
            with Leases(self.audit_path).hold(key, plan.action) as mine:
                if not mine:
                    seq = audit.record(**self._who(), return_ref=ref, action=plan.action,
                                       parameters=params, request=plan.request,
                                       outcome="refused", batch=batch,
                                       error=f"{key} is being written by another console "
                                       "or `act` right now")
                    return Outcome(False, f"refused: another console or `act` is writing "
                                   f"{key.partition(':')[2]} right now; nothing sent (look "
                                   "again once it is done)", seq, return_ref=ref)
                if plan.action == Action.FIX_REFERENCE:
                    return self._apply_link(audit, plan, params, ref, batch)
                return self._apply_requeue(audit, plan, params, ref, batch)

    def apply_all(self, plans: Sequence[Plan]) -> list[Outcome]:
        """Bulk: one batch id, one result per return, the rest go on when one fails; the
        ERP writes share one connection (one token, one event loop)."""
        batch = uuid.uuid4().hex[:12]
        outcomes = []
        with self._erp.sharing():
            for plan in plans:
                try:
                    outcomes.append(self.apply(plan, batch=batch))
                except Exception as exc:  # audited as failed inside; the others still run
                    outcomes.append(Outcome(False, f"{type(exc).__name__}: {exc}",
                                            return_ref=plan.returns[0] if plan.returns
                                            else None))
        return outcomes

    def close(self) -> None:
        """Stop the event loop the ERP calls ran on (a new one starts if used again)."""
        self._erp.close()

    def note_refusal(self, plan: Plan) -> int:
        ref = plan.parameters.get("return_ref") or (plan.returns[0] if plan.returns else None)
        with self._audit_log() as audit:
            return audit.record(**self._who(), return_ref=ref, action=plan.action,
                                parameters={**plan.parameters, "target": plan.target},
                                outcome="refused", error=plan.refusal)

    def _who(self) -> Who:
        return {"operator": self.operator, "profile": self.session.profile_name,
                "systems": self.session.systems}

    def _awaits_pickup(self, audit: AuditLog, link: str) -> bool:
        """A re-queue of `link` was handed to the ERP (which takes it up later) and this
        profile's audit log has not seen it taken up yet."""
        return any(link in (e.return_ref, (e.parameters or {}).get("return_ref"))
                   for e in audit.awaiting_pickup()
                   if e.action == Action.REQUEUE_POSTING
                   and e.profile == self.session.profile_name)

    def _requeue_blocked(self, audit: AuditLog, link: str) -> str | None:
        """Why a re-queue of `link` may not be sent now: "busy" (one is being sent, here
        or by another console or `act`), "awaiting" (one awaits the ERP's pickup); None."""
        if any(e.action == Action.REQUEUE_POSTING and e.parameters.get("return_ref") == link
               for e in audit.open_pending()):
            return "busy"
        return "awaiting" if self._awaits_pickup(audit, link) else None

    def _write_failed(self, audit: AuditLog, box: list[int], plan: Plan, params: dict,
                      ref: str | None, batch: str | None, exc: Exception) -> Outcome:
        """A re-queue whose sending raised: its pending row (or, if it never got one, a row
        of its own) gets the outcome: `refused` where nothing reached the ERP, else
        `failed`, with the record the ERP made where it made one not as planned."""
        made = getattr(exc, "made", None)  # made, but not as planned: which one
        outcome = "failed" if made else _outcome_of(exc)
        if box:
            audit.complete(box[0], outcome=outcome, error=_said(exc), erp_record_id=made)
        else:
            box.append(audit.record(**self._who(), return_ref=ref, action=plan.action,
                                    parameters=params, request=plan.request,
                                    outcome=outcome, error=_said(exc), batch=batch))
        return Outcome(False, _said(exc), box[0], return_ref=ref)

    def _refused_now(self, audit: AuditLog, plan: Plan, params: dict, ref: str | None,
                     batch: str | None, why: str, said: str | None = None) -> Outcome:
        """A re-queue refused when it was to be sent (nothing sent): audited with `why`;
        the operator reads `said` (by default the same reason)."""
        seq = audit.record(**self._who(), return_ref=ref, action=plan.action,
                           parameters=params, request=plan.request, outcome="refused",
                           error=why, batch=batch)
        return Outcome(False, said or f"refused: {why}; nothing sent", seq, return_ref=ref)

    def _apply_mapping(self, audit: AuditLog, plan: Plan, params: dict, ref: str | None,
                       batch: str | None) -> Outcome:
        try:
            current = self.session.load_mappings()
        except RuntimeError as exc:
            seq = audit.record(**self._who(), return_ref=ref, action=plan.action,
                               parameters=params, outcome="refused", error=str(exc),
                               batch=batch)
            return Outcome(False, str(exc), seq, return_ref=ref)
        entry = _mapping_entry(current, plan.action, plan.parameters)
        if entry != plan.before:  # someone changed it since the preview: ask again
            why = (f"the mapping changed since the preview (now {entry or 'none'}); preview "
                   "again")
            seq = audit.record(**self._who(), return_ref=ref, action=plan.action,
                               parameters=params, before=entry, outcome="refused", error=why,
                               batch=batch)
            return Outcome(False, why, seq, return_ref=ref)
        seq = audit.begin(**self._who(), return_ref=ref, action=plan.action, parameters=params,
                          before=plan.before, batch=batch)
        try:
            self.session.save_mappings(_with_entry(current, plan.action, plan.parameters,
                                                   plan.after))
        except Exception as exc:  # a file we cannot write: audited, never lost
            audit.complete(seq, outcome="failed", error=str(exc))
            return Outcome(False, f"not saved: {exc}", seq)
        audit.complete(seq, outcome="succeeded", after=plan.after)
        touched = len(plan.returns)
        return Outcome(True, f"{plan.changes[0]}; {touched} return{'s' if touched != 1 else ''}"
                       " affected", seq, return_ref=ref)

    def _apply_link(self, audit: AuditLog, plan: Plan, params: dict, ref: str | None,
                    batch: str | None) -> Outcome:
        record = RecordRef.parse(params["record"])
        seq = audit.begin(**self._who(), return_ref=ref, action=plan.action, parameters=params,
                          before=plan.before, request=plan.request, batch=batch)

        async def send() -> tuple[WriteResult, str]:
            async with self._erp.writer() as writer:
                _crash_point("before_send")
                done = await writer.set_link(record, params.get("etag"), params["link"])
                return done, writer.reverse_hint(Action.FIX_REFERENCE, done.number)

        try:
            result, reverse = self._erp.run(send)
        except ConflictError as exc:
            audit.complete(seq, outcome="failed", error=f"conflict: {exc}")
            return Outcome(False, "the record was changed in the ERP since it was read; "
                           "here it is as it is now, check and confirm again", seq,
                           conflict=exc.fresh or {}, return_ref=ref)
        except Exception as exc:  # ConnectorError or not: the pending row gets its outcome
            audit.complete(seq, outcome="failed", error=_said(exc))
            return Outcome(False, _said(exc), seq, return_ref=ref)
        if result.deferred:  # the ERP takes it up later: audited as handed over, not done
            _complete(audit, seq, outcome=HANDED_OVER, after=plan.after,
                      erp_record_id=result.number or result.record_id)
            return Outcome(True, f"handed to the ERP: {params['link']} is set on "
                           f"{result.number or result.record_id} when the ERP takes the "
                           "change up (the audit log shows it awaiting pickup)", seq,
                           record_id=result.record_id, return_ref=ref)
        _complete(audit, seq, outcome="succeeded", after={**(plan.after or {}),
                                                          "reverse": reverse},
                  erp_record_id=result.number or result.record_id)
        return Outcome(True, f"{result.number or result.record_id} now carries "
                       f"{params['link']}", seq, record_id=result.record_id, return_ref=ref)

    def _apply_return_order(self, audit: AuditLog, plan: Plan, params: dict,
                            ref: str | None, batch: str | None) -> Outcome:
        """Create the missing return order: looked for by its link first (another console,
        an earlier attempt whose answer was lost), audited before and after it is sent."""
        order = plan.order
        assert order is not None

        async def send(seq_box: list[int]) -> tuple[str, WriteResult | None]:
            async with self._erp.writer() as writer:
                existing = await writer.return_orders_for(order.link)
                if existing:
                    return ("awaiting" if existing[0].deferred else "exists"), existing[0]
                blocked = self._requeue_blocked(audit, order.link)
                if blocked:
                    return blocked, None
                seq_box.append(audit.begin(**self._who(), return_ref=ref, action=plan.action,
                                           parameters=params, before=plan.before,
                                           request=plan.request, batch=batch))
                _crash_point("before_send")
                made = await writer.create_return_order(order)
                reverse_box.append(writer.reverse_hint(Action.REQUEUE_POSTING,
                                                       made.number or made.record_id))
                return "made", made

        box: list[int] = []
        reverse_box: list[str] = []
        try:
            state, result = self._erp.run(lambda: send(box))
        except Exception as exc:  # ConnectorError or not: the pending row gets its outcome
            return self._write_failed(audit, box, plan, params, ref, batch, exc)
        if state in ("exists", "busy", "awaiting"):
            why = (f"return order {result.number or result.record_id} already exists for "
                   f"{order.link}" if state == "exists" and result is not None
                   else _BLOCKED[state])
            return self._refused_now(audit, plan, params, ref, batch, why)
        assert result is not None
        number = result.number or result.record_id
        if result.deferred:  # the ERP takes it up later: audited as handed over, not done
            _complete(audit, box[0], outcome=HANDED_OVER, erp_record_id=number,
                      after={**(plan.after or {}), "number": number,
                             "reverse": reverse_box[0] if reverse_box else None})
            return Outcome(True, f"{order.link} handed to the ERP: it is made when the ERP "
                           "takes it up (the audit log shows it awaiting pickup)", box[0],
                           record_id=result.record_id, return_ref=ref)
        _complete(audit, box[0], outcome="succeeded", erp_record_id=number,
                  after={**(plan.after or {}), "number": number,
                         "reverse": reverse_box[0] if reverse_box else None})
        return Outcome(True, f"return order {number} created for {order.link}", box[0],
                       record_id=result.record_id, return_ref=ref)

    def _apply_receipt(self, audit: AuditLog, plan: Plan, params: dict, ref: str | None,
                       batch: str | None) -> Outcome:
        """Make the missing receipt: looked for first (another console, an earlier attempt
        whose answer was lost), audited before and after it is sent."""
        receipt = plan.receipt
        assert receipt is not None

        async def send(seq_box: list[int]) -> tuple[str, WriteResult | None]:
            async with self._erp.writer() as writer:
                existing = await writer.receipts_for(receipt.link)
                if existing:
                    return ("awaiting" if existing[0].deferred else "exists"), existing[0]
                blocked = self._requeue_blocked(audit, receipt.link)
                if blocked:
                    return blocked, None
                seq_box.append(audit.begin(**self._who(), return_ref=ref, action=plan.action,
                                           parameters=params, before=plan.before,
                                           request=plan.request, batch=batch))
                _crash_point("before_send")
                made = await writer.create_receipt(receipt)
                reverse_box.append(_receipt_reverse(made.number or made.record_id))
                return "made", made

        box: list[int] = []
        reverse_box: list[str] = []
        try:
            state, result = self._erp.run(lambda: send(box))
        except Exception as exc:  # ConnectorError or not: the pending row gets its outcome
            return self._write_failed(audit, box, plan, params, ref, batch, exc)
        if state in ("exists", "busy", "awaiting"):
            why = (f"receipt {result.number or result.record_id} already exists for "
                   f"{receipt.link}" if state == "exists" and result is not None
                   else _BLOCKED[state])
            return self._refused_now(audit, plan, params, ref, batch, why)
        assert result is not None
        number = result.number or result.record_id
        if result.deferred:  # the ERP takes it up later: audited as handed over, not done
            _complete(audit, box[0], outcome=HANDED_OVER, erp_record_id=number,
                      after={**(plan.after or {}), "number": number,
                             "reverse": reverse_box[0] if reverse_box else None})
            return Outcome(True, f"{receipt.link}'s receipt handed to the ERP: it is made "
                           "when the ERP takes it up (the audit log shows it awaiting pickup)",
                           box[0], record_id=result.record_id, return_ref=ref)
        _complete(audit, box[0], outcome="succeeded", erp_record_id=number,
                  after={**(plan.after or {}), "number": number,
                         "reverse": reverse_box[0] if reverse_box else None})
        return Outcome(True, f"receipt {number} made for {receipt.link}", box[0],
                       record_id=result.record_id, return_ref=ref)

    def _apply_requeue(self, audit: AuditLog, plan: Plan, params: dict, ref: str | None,
                       batch: str | None) -> Outcome:
        if plan.order is not None:
            return self._apply_return_order(audit, plan, params, ref, batch)
        if plan.receipt is not None:
            return self._apply_receipt(audit, plan, params, ref, batch)
        credit = plan.credit
        assert credit is not None

        async def send(seq_box: list[int]) -> tuple[str, WriteResult | None, str | None]:
            async with self._erp.writer() as writer:
                existing = await writer.credits_for(credit.link)
                if existing and existing[0].deferred:  # handed over, not taken up yet
                    return "awaiting", None, None
                if existing:
                    return "exists", None, existing[0].number or existing[0].record_id
                blocked = self._requeue_blocked(audit, credit.link)
                if blocked:
                    return blocked, None, None
                seq_box.append(audit.begin(**self._who(), return_ref=ref, action=plan.action,
                                           parameters=params, before=plan.before,
                                           request=plan.request, batch=batch))
                _crash_point("before_send")
                draft = await writer.create_credit(credit)
                _crash_point("after_create")
                if draft.deferred:  # the ERP takes it up later: nothing more to send now
                    reverse_box.append(writer.reverse_hint(Action.REQUEUE_POSTING,
                                                           draft.number or draft.record_id))
                    return "handed_over", draft, None
                try:
                    posted = await writer.post_credit(draft, credit.link)
                except AmbiguousResultError as exc:  # posted, but next to another one
                    return "unclear", draft, str(exc)
                except ConnectorError as exc:
                    return "draft", draft, str(exc)
                _crash_point("after_post")
                reverse_box.append(writer.reverse_hint(Action.REQUEUE_POSTING, posted.number
                                                       or posted.record_id))
                return "posted", posted, None

        box: list[int] = []
        reverse_box: list[str] = []
        try:
            state, result, detail = self._erp.run(lambda: send(box))
        except Exception as exc:  # ConnectorError or not: the pending row gets its outcome
            return self._write_failed(audit, box, plan, params, ref, batch, exc)
        if state == "awaiting":
            return self._refused_now(
                audit, plan, params, ref, batch, _BLOCKED[state],
                f"refused: a re-queue of {credit.link} was handed to the ERP and awaits "
                "pickup; nothing sent")
        if state == "handed_over":
            assert result is not None
            number = result.number or result.record_id
            _complete(audit, box[0], outcome=HANDED_OVER, erp_record_id=number,
                      after={**(plan.after or {}),
                             "reverse": reverse_box[0] if reverse_box else None})
            return Outcome(True, f"credit for {credit.link} handed to the ERP: it is made "
                           "when the ERP takes it up (the audit log shows it awaiting pickup)",
                           box[0], record_id=result.record_id, return_ref=ref)
        if state == "busy":
            return self._refused_now(
                audit, plan, params, ref, batch, _BLOCKED[state],
                f"refused: a re-queue of {credit.link} is already in progress (another "
                "console or `act`); nothing sent")
        if state == "exists":
            return self._refused_now(
                audit, plan, params, ref, batch,
                f"credit memo {detail} already exists for {credit.link}",
                f"refused: the ERP already has credit memo {detail} for {credit.link}; "
                "nothing sent")
        assert result is not None
        number = result.number or result.record_id
        reverse = reverse_box[0] if reverse_box else None
        if state == "unclear":  # posted: saying "post it there" would credit twice
            audit.complete(box[0], outcome="failed", erp_record_id=number,
                           error=f"draft {number} was posted, but which credit memo it became "
                           f"cannot be told: {detail}")
            return Outcome(False, f"draft credit memo {number} was posted, but {detail}. Do not "
                           "post or re-queue again: check the credit memos for "
                           f"{credit.link} in the ERP and reverse the extra one.", box[0],
                           record_id=result.record_id, return_ref=ref)
        if state == "draft":
            audit.complete(box[0], outcome="failed", erp_record_id=number,
                           error=f"draft {number} created but not posted: {detail}")
            return Outcome(False, f"draft credit memo {number} created but posting failed: "
                           f"{detail}. The draft stays in the ERP; fix the cause and post "
                           "it there.", box[0], record_id=result.record_id, return_ref=ref)
        _complete(audit, box[0], outcome="succeeded", erp_record_id=number,
                  after={**(plan.after or {}), "number": number, "status": result.status,
                         "reverse": reverse})
        return Outcome(True, f"credit memo {number} created and posted for {credit.link}",
                       box[0], record_id=result.record_id, return_ref=ref)

    # -- triage ---------------------------------------------------------------------------

    def set_triage(self, finding: Finding, kind: str, value: str | None = None, *,
                   batch: str | None = None) -> Outcome:
        """acknowledge / snooze UNTIL / assign WHO / note TEXT / tag TAG / reopen: local,
        always allowed (also read-only: it changes no system), audited."""
        if kind not in TRIAGE_KINDS:
            return Outcome(False, f"unknown triage step {kind!r}: {', '.join(TRIAGE_KINDS)}")
        profile = self.session.profile_name
        blank = Triage(finding_id=finding.id, return_ref=finding.return_ref,
                       code=finding.code.value)
        seq: int | None = None
        with self._audit_log() as audit:
            try:
                # read, change, audit and write as one step: a parallel change waits for
                # this one and builds on it (a tag is added to the tags as they are then)
                with self.triage.changing(profile, finding.id, blank) as change:
                    new = _triaged(change.old, kind, value)
                    seq = audit.begin(**self._who(), return_ref=finding.return_ref,
                                      action=kind, parameters={
                                          "finding": finding.id, "code": finding.code.value,
                                          "value": value},
                                      before=change.old.to_json(), batch=batch)
                    change.new = new
            except ValueError as exc:
                if seq is None:  # refused before anything was recorded (a bad value)
                    return Outcome(False, str(exc))
                audit.complete(seq, outcome="failed", error=_said(exc))
                return Outcome(False, f"not recorded: {_said(exc)}", seq,
                               return_ref=finding.return_ref)
            except Exception as exc:  # audited, and said: never silently dropped
                if seq is None:
                    seq = audit.record(**self._who(), return_ref=finding.return_ref,
                                       action=kind, parameters={"finding": finding.id,
                                                                "value": value},
                                       outcome="failed", error=_said(exc), batch=batch)
                else:
                    audit.complete(seq, outcome="failed", error=_said(exc))
                return Outcome(False, f"not recorded: {_said(exc)}", seq,
                               return_ref=finding.return_ref)
            audit.complete(seq, outcome="succeeded", after=new.to_json())
        return Outcome(True, f"{finding.return_ref} {finding.code.value}: {new.label()}", seq,
                       return_ref=finding.return_ref)

    def triage_details(self, finding_ids: Sequence[str]) -> dict[str, str]:
        """What operators said of each exception (state, assignee, tags, note)."""
        profile = self.session.profile_name
        found = {i: self.triage.get(profile, i) for i in finding_ids}
        return {i: t.describe() for i, t in found.items()
                if t is not None and (t.state != "new" or t.assignee or t.tags or t.note)}

    def triage_labels(self, now: datetime | None = None) -> dict[str, str]:
        return {k: t.label(now) for k, t in self.triage.all(self.session.profile_name).items()}

    def close_missing(self, findings: Sequence[Finding], when: datetime) -> list[Triage]:
        """After a refresh: exceptions it no longer finds are closed, and audited as such."""
        stamp = when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        present = {f.id for f in findings}
        closed = self.triage.close_missing(self.session.profile_name, present, stamp)
        back = self.triage.reopen_present(self.session.profile_name, present, stamp)
        if closed or back:
            with self._audit_log() as audit:
                for t, action in [*((t, "auto_close") for t in closed),
                                  *((t, "auto_reopen") for t in back)]:
                    audit.record(**self._who(), return_ref=t.return_ref, action=action,
                                 parameters={"finding": t.finding_id, "code": t.code},
                                 after=t.to_json(), outcome="succeeded")
        return closed

    # -- undo -----------------------------------------------------------------------------

    def undo_plan(self, seq: int) -> Plan | str:
        """The reverse of an audited action where one exists; else the compensating step to
        take by hand, as a sentence."""
        with self._audit_log() as audit:
            rows = {e.seq: e for e in audit.entries()}
        row = rows.get(seq)
        if row is None:
            return f"no audit row {seq}"
        if row.completes is not None:
            row = rows.get(row.completes, row)
        done = [e for e in rows.values() if e.completes == row.seq]
        if not done or done[-1].outcome != "succeeded":
            return "that action did not succeed: there is nothing to undo"
        p = row.parameters
        said = (done[-1].after or {}).get("reverse")  # the ERP's writer said, when it wrote
        if row.action == Action.FIX_REFERENCE:
            return (f"ERP writes are not undone automatically. To reverse it, fix the "
                    f"reference of {p.get('record', '?').split(':')[-1]} back to "
                    f"{p.get('was') or '(empty)'}." + (f" {said}" if said else ""))
        if row.action == Action.REQUEUE_POSTING:
            return said or ("A posted credit note is not undone automatically: cancel credit "
                            f"note {done[-1].erp_record_id} in the ERP.")
        if row.action in (Action.REMAP_SKU, Action.REMAP_CODE):
            return self._undo_mapping(row, done[-1].after)
        if row.action in TRIAGE_KINDS:
            return Plan("undo", f"triage of {row.return_ref}", (row.return_ref or "",),
                        (f"triage back to {Triage(**_triage_args(row.before)).label()}",),
                        {"undoes": row.seq, "triage": row.before}, before=row.after,
                        after=row.before)
        return f"{row.action} cannot be undone"

    def _undo_mapping(self, row: Any, after: dict | None) -> Plan | str:
        mappings = self.session.load_mappings()
        p = row.parameters
        if _mapping_entry(mappings, row.action, p) != after:
            return ("the mapping was changed again since that action; undo the later change "
                    "first, or remap it directly")
        if row.action == Action.REMAP_SKU:
            skus = dict(mappings.skus)
            if row.before:
                from ..domain.reference import SkuMapping
                skus[p["sku"]] = SkuMapping.model_validate(row.before)
            else:
                skus.pop(p["sku"], None)
            restored = mappings.model_copy(update={"skus": skus})
            what = f"SKU {p['sku']} mapping back to {row.before or 'none'}"
        else:
            from ..domain.actions import CODE_TABLES
            from ..domain.reference import DispositionMapping
            name = CODE_TABLES[p["kind"]]
            table = dict(getattr(mappings, name))
            old = (row.before or {}).get("value")
            if old is None:
                table.pop(p["code"], None)
            else:
                table[p["code"]] = (DispositionMapping.model_validate(old)
                                    if p["kind"] == "disposition" else old)
            restored = mappings.model_copy(update={name: table})
            what = f"{p['kind']} {p['code']} mapping back to {old or 'none'}"
        return Plan("undo", what, tuple(p.get("returns") or ()), (what,),
                    {"undoes": row.seq}, before=after, after=row.before,
                    mappings=restored)

    def apply_undo(self, plan: Plan) -> Outcome:
        with self._audit_log() as audit:
            if self.session.read_only and plan.mappings is not None:
                seq = audit.record(**self._who(), return_ref=None, action="undo",
                                   parameters=plan.parameters, outcome="refused",
                                   error=READ_ONLY)
                return Outcome(False, READ_ONLY, seq)
            seq = audit.begin(**self._who(), return_ref=plan.returns[0] if len(plan.returns) == 1
                              else None, action="undo", parameters=plan.parameters,
                              before=plan.before)
            try:
                if plan.mappings is not None:
                    self.session.save_mappings(plan.mappings)
                else:
                    state = plan.parameters["triage"]
                    self.triage.put(self.session.profile_name, Triage(**_triage_args(state)))
            except Exception as exc:
                audit.complete(seq, outcome="failed", error=_said(exc))
                return Outcome(False, f"not undone: {_said(exc)}", seq)
            audit.complete(seq, outcome="succeeded", after=plan.after)
        return Outcome(True, f"undone: {plan.target}", seq)

    # -- the log ----------------------------------------------------------------------------

    def audit_entries(self, *, return_ref: str | None = None) -> list[Any]:
        """Every row, oldest first; for one return, its rows, the rows of actions that
        touched it (a remap lists every return), and their outcome rows."""
        with self._audit_log() as audit:
            rows = audit.entries()
        if return_ref is None:
            return rows
        mine = {e.seq for e in rows if e.return_ref == return_ref
                or return_ref in ((e.parameters or {}).get("returns") or ())}
        return [e for e in rows if e.seq in mine or e.completes in mine]

    # -- deferred writes ------------------------------------------------------------------

    def settle_handed_over(self) -> list[str]:
        """Writes handed to an ERP that takes them up later: ask it what became of each
        and record the final outcome (taken up: succeeded; refused: failed). One sentence
        per row settled; rows the ERP has not looked at yet stay open."""
        with self._audit_log() as audit:
            waiting = [e for e in audit.awaiting_pickup()
                       if e.profile == self.session.profile_name]
            if not waiting:
                return []
            started = {e.seq: e for e in audit.entries() if e.seq in
                       {w.completes for w in waiting}}
            # a handed-over row completes the pending row that holds the write's parameters;
            # one recorded late (`_complete`) carries them itself
            rows = [(w, started[w.completes].parameters if w.completes in started
                     else w.parameters) for w in waiting]
            asked = self._erp.run(lambda: self._ask_pickup(rows))
            said = []
            for row, taken, why in asked:
                if taken is None:
                    continue
                _complete(audit, row.seq, outcome="succeeded" if taken else "failed",
                          erp_record_id=row.erp_record_id,
                          after=row.after if taken else None,  # its reverse, for undo
                          error=None if taken else "the ERP refused the change it was handed"
                          + (f": {why}" if why else ""))
                said.append(f"{row.action} on {row.return_ref or '-'} (row {row.seq}): "
                            f"{'taken up by the ERP' if taken else 'refused by the ERP'}")
            return said

    def settle_quietly(self) -> list[str]:
        """`settle_handed_over` for a refresh: an ERP that cannot be asked now leaves the
        rows open for the next one (said in the log, never raised into the refresh)."""
        try:
            return self.settle_handed_over()
        except Exception as exc:  # the ERP or the log unreachable now: asked again later
            logging.getLogger(__name__).warning("handed-over writes not settled now: %s",
                                                _said(exc))
            return []

    async def _ask_pickup(self, rows: list[tuple[Any, dict]]
                          ) -> list[tuple[Any, bool | None, str | None]]:
        """What the ERP says of each handed-over write (none: it cannot say), and, where its
        writer can say it, where to look when it refused one."""
        async with self._erp.writer() as writer:
            if not isinstance(writer, DeferredWriter):
                return []
            hint = getattr(writer, "refusal_hint", None)
            out: list[tuple[Any, bool | None, str | None]] = []
            for row, params in rows:
                taken = await writer.picked_up(row.action, params)
                out.append((row, taken, hint(row.action) if hint and taken is False else None))
            return out

    # -- recovery -------------------------------------------------------------------------

    def resolve_pending(self) -> list[str]:
        """Pending rows a crash left: ask the ERP (or the local store) what happened and
        record it; then writes handed to an ERP that takes them up later, settled where it
        says. Returns one sentence per row resolved."""
        return self._resolve_crashed() + self.settle_quietly()

    def _resolve_crashed(self) -> list[str]:
        with self._audit_log() as audit:
            pending = [e for e in audit.open_pending()
                       if e.profile == self.session.profile_name and _abandoned(e)]
            said = []
            for row in pending:
                outcome, record_id, why = self._what_happened(row)
                # handed over before the crash: the row that settles it later keeps this
                # one's reverse for undo, as a hand-over made without a crash does
                after = {"number": record_id, "reverse": self._reverse_of(row, record_id)} \
                    if outcome == HANDED_OVER else None
                audit.complete(row.seq, outcome=outcome, erp_record_id=record_id, after=after,
                               error=f"resolved at start: {why}")
                said.append(f"{row.action} on {row.return_ref or '-'} (row {row.seq}): "
                            f"{outcome}, {why}")
            return said

    def _reverse_of(self, row: Any, number: str | None) -> str | None:
        """How to undo a re-queue once the ERP took it up, as its writer words it (None:
        the ERP cannot be asked now; undo then gives the general words)."""
        if row.parameters.get("creates") == "receipt":
            return _receipt_reverse(number)

        async def ask() -> str:
            async with self._erp.writer() as writer:
                return writer.reverse_hint(Action.REQUEUE_POSTING, number)
        try:
            return self._erp.run(ask)
        except Exception:  # a hint only: undo then gives the general words
            return None

    def _what_happened(self, row: Any) -> tuple[str, str | None, str]:
        p = row.parameters
        try:
            if row.action == Action.REQUEUE_POSTING and p.get("creates") == "return_order":
                orders = self._erp.run(lambda: self._return_orders(p["return_ref"]))
                if not orders:
                    return "failed", None, "the ERP has no return order for it: nothing was made"
                number = orders[0].number or orders[0].record_id
                if orders[0].deferred:  # handed over before the crash: awaits pickup
                    return HANDED_OVER, number, "handed to the ERP, awaiting its pickup"
                made = self._erp.run(lambda: self._line_count(number))
                wanted = int(p.get("lines") or 0)
                if made < wanted:
                    return "failed", number, (f"return order {number} exists with {made} of "
                                              f"{wanted} lines: add the rest to it in the ERP")
                return "succeeded", number, f"return order {number} exists with its lines"
            if row.action == Action.REQUEUE_POSTING and p.get("creates") == "receipt":
                ours = self._erp.run(lambda: self._receipt_made(p["return_ref"]))
                if ours is not None:
                    number = ours.number or ours.record_id
                    if ours.deferred:  # handed over before the crash: awaits pickup
                        return HANDED_OVER, number, "handed to the ERP, awaiting its pickup"
                    return "succeeded", number, f"receipt {number} exists, made by the re-queue"
                receipts = self._erp.run(lambda: self._receipts(p["return_ref"]))
                if receipts and receipts[0].deferred:  # handed over before the crash
                    number = receipts[0].number or receipts[0].record_id
                    return HANDED_OVER, number, "handed to the ERP, awaiting its pickup"
                if receipts:  # received otherwise meanwhile: not this write's to claim
                    number = receipts[0].number or receipts[0].record_id
                    return "failed", None, (f"the re-queue made no receipt; receipt {number} "
                                            "was made otherwise (by hand?): check it in the "
                                            "ERP")
                return "failed", None, "the ERP has no receipt for it: nothing was made"
            if row.action == Action.REQUEUE_POSTING:
                notes = self._erp.run(lambda: self._credits(p["return_ref"]))
                if not notes:
                    return "failed", None, "the ERP has no credit memo for it: nothing was made"
                note = notes[0]
                number = note.number or note.record_id
                if note.deferred:  # handed over before the crash: awaits pickup
                    return HANDED_OVER, number, "handed to the ERP, awaiting its pickup"
                if note.final:
                    return "succeeded", number, f"credit memo {number} exists and is posted"
                return "failed", number, \
                    f"draft {number} exists but was not posted: post it in the ERP"
            if row.action == Action.FIX_REFERENCE:
                record, link = self._erp.run(lambda: self._get(RecordRef.parse(p["record"])))
                if link == p["link"]:
                    return "succeeded", record.get("number"), "the ERP record carries the new link"
                return "failed", record.get("number"), f"the ERP record still carries {link!r}"
            if row.action in (Action.REMAP_SKU, Action.REMAP_CODE, "undo"):
                return "failed", None, "interrupted before it was confirmed; check the mapping"
            return "failed", None, "interrupted"
        except (ConnectorError, KeyError, ValueError) as exc:
            return "failed", None, f"could not ask the ERP ({exc}); check by hand"

    def _why_not_here(self, action: str, request: dict | None, described_by: Any
                      ) -> str | None:
        """Why the ERP's installation would refuse the request a plan describes, where its
        writer (`described_by`'s kind) can say before anything is sent (its metadata);
        None: allowed, or it cannot be asked now (the write asks again before it sends)."""
        if request is None or not hasattr(described_by, "why_not_allowed") \
                or getattr(self, "_plan_checks_off", False):
            return None
        try:
            asyncio.get_running_loop()
            return None  # planned on a running loop: the write asks before it sends
        except RuntimeError:
            pass

        async def ask() -> str | None:
            async with self._erp.writer() as writer:
                check = getattr(writer, "why_not_allowed", None)
                return None if check is None else await check(action, request)

        try:
            return self._erp.run(lambda: asyncio.wait_for(ask(), PLAN_CHECK_S))
        except (ConnectorError, RuntimeError, TimeoutError):
            # the ERP cannot say now: planning goes on without asking again this session
            # (each plan waiting on it would stall the preview and the console's quitting)
            self._plan_checks_off = True
            return None

    async def _line_count(self, number: str) -> int:
        async with self._erp.writer() as writer:
            return int(await writer.line_count(number))

    async def _return_orders(self, link: str) -> list[WriteResult]:
        async with self._erp.writer() as writer:
            return await writer.return_orders_for(link)

    async def _receipt_made(self, link: str) -> WriteResult | None:
        async with self._erp.writer() as writer:
            return await writer.receipt_made(link)

    async def _receipts(self, link: str) -> list[WriteResult]:
        async with self._erp.writer() as writer:
            return await writer.receipts_for(link)

    async def _credits(self, link: str) -> list[WriteResult]:
        async with self._erp.writer() as writer:
            return await writer.credits_for(link)

    async def _get(self, ref: RecordRef) -> tuple[dict, str | None]:
        """The record as the ERP holds it now, and the link it carries."""
        async with self._erp.writer() as writer:
            record = await writer.get_record(ref)
            return record, writer.link_of(record)


T = TypeVar("T")


class _ErpCalls:
    """Every ERP call of one Actions on one event loop, kept between calls (not a loop and a
    connection per write); during a bulk run, one writer for all of it (one token)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._runner: asyncio.Runner | None = None
        self._lock = threading.RLock()  # one call at a time: the loop is not thread-safe
        self._shared: Any = None
        self._depth = 0

    def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        with self._lock:
            if self._runner is None:
                self._runner = loops.runner()
            return self._runner.run(make())

    @contextlib.asynccontextmanager
    async def writer(self) -> AsyncIterator[Any]:
        """The session's ERP writer: the bulk run's, or one opened (and closed) now."""
        if self._shared is not None:
            yield self._shared
            return
        writer = self._session.open_writer()
        if writer is None:
            raise RuntimeError("this session cannot write to an ERP")
        try:
            yield writer
        finally:
            await writer.aclose()

    @contextlib.contextmanager
    def sharing(self) -> Iterator[None]:
        """One writer for every ERP call inside (opened when first needed)."""
        with self._lock:
            self._depth += 1
            if self._depth == 1:
                self._shared = _Lazy(self._session)
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    shared, self._shared = self._shared, None
                    if shared is not None and shared.opened is not None:
                        self.run(shared.opened.aclose)

    def close(self) -> None:
        """Close the loop: here, or (called from a thread whose own loop runs, as the
        console's unmount is) in a thread of its own, since closing runs the loop once."""
        with self._lock:
            runner, self._runner = self._runner, None
        if runner is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            runner.close()
            return
        closing = threading.Thread(target=runner.close, name="close-erp-loop")
        closing.start()
        closing.join(timeout=30)


class _Lazy:
    """A writer opened on first use: a bulk run of remaps alone never logs in to the ERP."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.opened: Any = None

    def __getattr__(self, name: str) -> Any:
        if self.opened is None:
            self.opened = self._session.open_writer()
            if self.opened is None:
                raise RuntimeError("this session cannot write to an ERP")
        return getattr(self.opened, name)


def _owner() -> dict[str, Any]:
    """Who is carrying out a write, so another process never takes it for a crash's."""
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds")}


def _abandoned(row: Any) -> bool:
    """A pending row's process is gone (same machine), or it is old (another machine)."""
    owner = (row.parameters or {}).get("owner") or {}
    if owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
        if owner["pid"] == os.getpid():
            return False
        try:
            os.kill(owner["pid"], 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    try:
        began = datetime.fromisoformat(str(row.at).replace("Z", "+00:00"))
    except ValueError:
        return True
    return datetime.now(UTC) - began > FOREIGN_PENDING_AGE


def remember_audit_log(witness: Path, audit_path: Path) -> None:
    """Note, beside the config, that this machine keeps an audit log at `audit_path`."""
    witness.parent.mkdir(parents=True, exist_ok=True)
    witness.write_text(f"{audit_path}\n", encoding="utf-8")


def _lease_key(plan: Plan, ref: str | None) -> str:
    """What an ERP write leases: the link a new credit memo will carry, the record a
    reference fix changes."""
    if plan.action == Action.REQUEUE_POSTING:
        made = plan.credit or plan.order or plan.receipt
        link = made.link if made is not None else ref
        return f"link:{(link or '').casefold()}"
    return f"record:{plan.parameters.get('record') or ref or ''}"


def _complete(audit: AuditLog, seq: int, **outcome: Any) -> None:
    """The outcome of a write that happened; if the pending row was already settled (another
    process took it for a crash), the outcome is still written, as a row of its own."""
    try:
        audit.complete(seq, **outcome)
    except ValueError as exc:
        row = next(e for e in audit.entries() if e.seq == seq)
        audit.record(operator=row.operator, profile=row.profile, systems=row.systems,
                     return_ref=row.return_ref, action=row.action,
                     parameters={**row.parameters, "late_outcome_of": seq},
                     outcome=outcome.get("outcome", "succeeded"),
                     after=outcome.get("after"), erp_record_id=outcome.get("erp_record_id"),
                     error=f"row {seq} was settled before this outcome arrived: {exc}",
                     batch=row.batch)


def _said(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, ConnectorError) else f"{type(exc).__name__}: {exc}"


def _mapping_entry(mappings: Mappings, action: str, p: dict) -> dict | None:
    """The mapping entry an action changes, as its plan's `before` records it."""
    if action == Action.REMAP_SKU:
        found = mappings.skus.get(p["sku"])
        return found.model_dump(mode="json") if found else None
    from ..domain.actions import CODE_TABLES

    value = getattr(mappings, CODE_TABLES[p["kind"]]).get(p["code"])
    if value is None:
        return None
    return {"value": value.model_dump(mode="json") if hasattr(value, "model_dump") else value}


def _with_entry(mappings: Mappings, action: str, p: dict, entry: dict | None) -> Mappings:
    """The current tables with one entry set (or removed): other changes made meanwhile
    are kept, never overwritten by the copy a plan was made from."""
    from ..domain.actions import CODE_TABLES
    from ..domain.reference import DispositionMapping, SkuMapping

    if action == Action.REMAP_SKU:
        skus = dict(mappings.skus)
        if entry is None:
            skus.pop(p["sku"], None)
        else:
            skus[p["sku"]] = SkuMapping.model_validate(entry)
        return mappings.model_copy(update={"skus": skus})
    name = CODE_TABLES[p["kind"]]
    table = dict(getattr(mappings, name))
    value = (entry or {}).get("value")
    if value is None:
        table.pop(p["code"], None)
    else:
        table[p["code"]] = (DispositionMapping.model_validate(value)
                            if p["kind"] == "disposition" else value)
    return mappings.model_copy(update={name: table})


def erp_records(case: ReturnCase) -> list[str]:
    """The raw refs of the ERP documents behind a return, credit notes first."""
    refs = [n.raw_ref for n in case.erp.credit_notes if n.raw_ref]
    refs += [s.raw_ref for s in case.erp.stages.values() if s.raw_ref]
    return list(dict.fromkeys(refs))


def _describable(writer: Any, record_ref: str, link: str) -> bool:
    """Whether the writer can describe setting `link` on the record (nothing is sent)."""
    return _why_not(writer, record_ref, link) is None


def _why_not(writer: Any, record_ref: str, link: str) -> str | None:
    """Why the writer cannot set `link` on the record, in its words (None: it can)."""
    try:
        writer.describe_set_link(RecordRef.parse(record_ref), None, link)
    except ValueError as exc:
        return str(exc) or "the ERP keeps it as it is"
    return None


def _link_on(writer: Any, loaded: Loaded, case: ReturnCase, record_ref: str) -> str | None:
    """The link a record of the return carries now, as read."""
    raw = loaded.raw.get(record_ref) if loaded.raw else None
    if isinstance(raw, dict):
        return writer.link_of(raw)
    return next((n.external_ref for n in case.erp.credit_notes if n.raw_ref == record_ref),
                case.erp.return_ref)


def _record_name(case: ReturnCase, record_ref: str) -> str:
    """A record of the return by its number where one is known."""
    number = next((n.number for n in case.erp.credit_notes
                   if n.raw_ref == record_ref and n.number), None) or next(
        (s.record_ids[0] for s in case.erp.stages.values()
         if s.raw_ref == record_ref and s.record_ids), None)
    kind = RecordRef.parse(record_ref).entity
    return f"{kind} {number}" if number else f"ERP record {record_ref.split(':')[-1]}"


def _needs_return_order(case: ReturnCase, master: ErpMaster) -> bool:
    """Whether a re-queue of this return means its missing return order: the ERP has none
    (not even a cancelled one) and its API can create one."""
    from ..domain.codes import Stage, StageStatus

    order = case.erp.stages.get(Stage.AUTHORISED)
    return (master.creates is not None and "return_order" in master.creates
            and (order is None or order.status is not StageStatus.DONE))


def _receipt_reverse(number: str | None) -> str:
    return (f"A receipt is not undone automatically: delete receipt {number} in the ERP (its "
            "stock moves back).")


#: A re-queue's refusal, as the audit log words it, when one is under way already.
_BLOCKED = {"busy": "a re-queue of this return is in progress elsewhere",
            "awaiting": "a re-queue of this return was handed to the ERP and awaits pickup"}


def _outcome_of(exc: BaseException) -> str:
    """A write's outcome when it raised: `refused` where the console stopped it before
    sending (nothing reached the ERP: its own check, or the record changed since it was
    read), else `failed` (the ERP's error, or no answer)."""
    return "refused" if isinstance(exc, (NotSentError, ConflictError)) else "failed"


def _needs_receipt(case: ReturnCase, master: ErpMaster) -> bool:
    """Whether a re-queue of this return means its missing receipt: the ERP's API makes
    receipts, the ERP has the return order but received nothing, and the platform
    received (a receipt comes before the credit: the ERP credits what it received), or has
    refunded nothing (no credit is due: why no receipt can be made is what to say)."""
    from ..domain.codes import Stage, StageStatus

    def done(stages: dict, stage: Stage) -> bool:
        view = stages.get(stage)
        return view is not None and view.status is StageStatus.DONE

    if not (master.creates is not None and "receipt" in master.creates
            and done(case.erp.stages, Stage.AUTHORISED)):
        return False
    if not done(case.platform.stages, Stage.CREDITED):
        return True  # nothing refunded, so no credit either: the receipt's answer says why
    return not done(case.erp.stages, Stage.RECEIVED) and done(case.platform.stages,
                                                               Stage.RECEIVED)


#: How long a plan waits for the ERP to say what its installation allows (`$metadata`).
PLAN_CHECK_S = 10.0


def _only_return_orders(session: Session, master: ErpMaster) -> bool:
    """Whether a re-queue here can only ever make the return order (the ERP's API makes no
    credit note): then one that exists is the refusal, not a credit's conditions."""
    from .. import systems

    creates = master.creates
    if creates is None:
        found = systems.find(session.erp_system) if session.erp_system else None
        creates = found.capabilities.creates if found is not None else frozenset()
    return "return_order" in creates and "credit_note" not in creates


def _case(loaded: Loaded, ref: str) -> ReturnCase | None:
    return next((c for c in loaded.report.cases if c.return_ref == ref), None)


def _unsupported(session: Session, action: str) -> str | None:
    """Why the session's ERP cannot do `action` at all (its registry entry does not list
    it), as a sentence; None when it can. Never offered then, and refused here too, so the
    CLI and bulk paths obey it as the console does."""
    from .. import systems

    if session.erp_can(action):
        return None
    found = systems.spec(session.erp_system or "")
    return (f"{found.name}'s API cannot do this ({action.replace('_', ' ')}); the finding "
            "says what to do in the ERP instead")


def _close(writer: Any) -> None:
    """Close a connector opened only to describe a request: at once when no event loop
    runs in this thread, else on the running loop (never a coroutine left unawaited)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loops.run(writer.aclose())
        return
    _CLOSING.add(task := loop.create_task(writer.aclose()))
    task.add_done_callback(_CLOSING.discard)


#: Closings under way on a running loop (held so they are not collected half-done).
_CLOSING: set[asyncio.Task] = set()


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _triaged(old: Triage, kind: str, value: str | None) -> Triage:
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if kind == "acknowledge":
        return replace(old, state="acknowledged", updated_at=now)
    if kind == "reopen":
        return replace(old, state="new", snoozed_until=None, updated_at=now)
    if not value or not value.strip():
        raise ValueError(f"{kind} needs a value")
    value = value.strip()
    if kind == "snooze":
        try:
            until = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"snooze until {value!r}: write a date, e.g. 2026-11-30") from None
        moment = until if until.tzinfo else until.replace(tzinfo=UTC)
        if (moment.date() < datetime.now(UTC).date() if len(value) <= 10
                else moment <= datetime.now(UTC)):
            raise ValueError(f"snooze until {value}: that is in the past, so the snooze would "
                             "do nothing; give a later date")
        return replace(old, state="snoozed", snoozed_until=until.date().isoformat()
                       if len(value) <= 10 else until.isoformat(), updated_at=now)
    if kind == "assign":
        return replace(old, assignee=value, updated_at=now)
    if kind == "note":
        return replace(old, note=value, updated_at=now)
    tags = tuple(dict.fromkeys((*old.tags, value.lstrip("#"))))
    return replace(old, tags=tags, updated_at=now)


def _triage_args(data: dict | None) -> dict:
    data = dict(data or {})
    data["tags"] = tuple(data.get("tags") or ())
    data.pop("history", None)
    return data


def operator_name(configured: str | None) -> str:
    from ..store.audit import current_operator

    return current_operator(configured)

