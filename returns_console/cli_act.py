"""`returns-console act ...`: the operator actions from the command line, for people at a
shell and for scripts. Each reads the profile's systems first (a plan is only as good as the
data it is made from), prints the preview, asks (unless --yes), applies, and says what came of
it. Exit 0: done; 1: refused or failed (the reason on stderr); 2: usage or configuration."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .errors import UserError


def _session(obj: dict):
    from .cli_sessions import profile_session

    return profile_session(obj, obj.get("profile_name"))


def _actions(obj: dict, session):
    from .config import load_config
    from .locations import resolve
    from .secrets import audit_key
    from .services.actions import Actions, operator_name

    places = resolve(obj.get("config_path"))
    config = load_config(places.config_file)
    return Actions(session, audit_path=places.audit_db, triage_path=places.triage_db,
                   operator=operator_name(config.operator), audit_key=audit_key(),
                   witness=places.audit_witness)


def _loaded(session, actions) -> Any:
    for said in actions.resolve_pending():
        click.echo(f"recovered: {said}", err=True)
    loaded = session.refresh()
    for label in ("platform", "erp"):
        status = getattr(loaded.report, label)
        if status.status != "ok":
            click.echo(f"warning: {status.system} is {status.status}"
                       f"{': ' + status.error if status.error else ''}; planning from the "
                       "data kept from before", err=True)
    return loaded


def _preview(plans) -> None:
    for plan in plans:
        if plan.allowed:
            click.echo(f"{plan.action}: {plan.target}")
        if not plan.allowed:  # the reason for exit 1: on stderr, as documented
            click.echo(f"{plan.action}: {plan.target}: refused: {plan.refusal}", err=True)
            continue
        for change in plan.changes:
            click.echo(f"  {change}")
        if plan.returns:
            click.echo(f"  returns touched ({len(plan.returns)}): {', '.join(plan.returns)}")
        if plan.request:
            click.echo("  request to the ERP:")
            for line in json.dumps(plan.request, indent=2, default=str).splitlines():
                click.echo(f"    {line}")


def _run(obj: dict, make, yes: bool, *, undo: bool = False) -> None:
    session = _session(obj)
    actions = None
    try:
        actions = _actions(obj, session)
        loaded = _loaded(session, actions)
        plans = make(actions, loaded)
        _preview(plans)
        allowed = [p for p in plans if p.allowed]
        if not allowed:
            sys.exit(1)
        if session.read_only:
            click.echo("refused: this is a read-only session (--read-only or the profile's "
                       "read_only); nothing was sent", err=True)
            for plan in allowed:
                actions.apply(plan)  # audited as refused
            sys.exit(1)
        count = sum(len(p.returns) or 1 for p in allowed)
        if not yes and not sys.stdin.isatty():
            raise UserError("nothing was changed: there is no terminal to confirm on; add "
                            "--yes to apply without asking")
        if not yes and not click.confirm(f"Apply {allowed[0].action} to {count} "
                                         f"return{'s' if count != 1 else ''}?", default=False):
            click.echo("nothing changed", err=True)
            sys.exit(1)
        if undo:
            outcomes = [actions.apply_undo(allowed[0])]
        else:
            outcomes = (actions.apply_all(allowed) if len(allowed) > 1
                        else [actions.apply(allowed[0])])
        for o in outcomes:  # what was done on stdout; what failed (exit 1) on stderr
            mark = "done" if o.ok else "FAILED"
            click.echo(f"{mark}: {o.return_ref or '-'}: {o.message} (audit row {o.seq})",
                       err=not o.ok)
        sys.exit(0 if all(o.ok for o in outcomes) else 1)
    finally:
        if actions is not None:
            actions.close()
        session.close()


_YES = click.option("--yes", "-y", is_flag=True, help="Apply without asking (for scripts).")


@click.group(name="act")
def act() -> None:
    """Fix exceptions: remap a SKU or a code, fix a reference, re-queue a posting, triage,
    undo. On --profile (before `act`) or the default profile; every step is audited."""


@act.command("remap-sku")
@click.argument("sku")
@click.argument("item")
@click.option("--factor", default="1", show_default=True,
              help="ERP units per platform unit.")
@click.option("--uom", default=None, help="The ERP unit (default: the item's base unit).")
@click.option("--match-by", default=None, metavar="WAY",
              help="How the ERP finds ITEM, where it can another way than by its number "
              "(in the ERP's own words; a way it does not have is refused, naming those it "
              "has).")
@_YES
@click.pass_obj
def remap_sku(obj: dict, sku: str, item: str, factor: str, uom: str | None,
              match_by: str | None, yes: bool) -> None:
    """Map platform SKU to ERP ITEM (checked against the ERP's item master)."""
    _run(obj, lambda a, loaded: [a.plan_remap_sku(loaded, sku, item, factor, uom, match_by)],
         yes)


@act.command("remap-code")
@click.argument("kind", type=click.Choice(["reason", "disposition", "location", "fee",
                                           "payment_method"]))
@click.argument("code")
@click.argument("erp_code")
@click.option("--location", default=None, help="For a disposition: where its goods go.")
@_YES
@click.pass_obj
def remap_code(obj: dict, kind: str, code: str, erp_code: str, location: str | None,
               yes: bool) -> None:
    """Map a platform CODE of KIND to the ERP's ERP_CODE."""
    _run(obj, lambda a, loaded: [a.plan_remap_code(loaded, kind, code, erp_code, location)],
         yes)


@act.command("fix-reference")
@click.argument("return_ref")
@click.argument("new_link")
@click.option("--record", default=None, metavar="RAW_REF",
              help="Which ERP record (default: the return's credit note, else its first).")
@_YES
@click.pass_obj
def fix_reference(obj: dict, return_ref: str, new_link: str, record: str | None,
                  yes: bool) -> None:
    """Set the link key (the field the ERP keeps it in) of RETURN_REF's ERP record to
    NEW_LINK."""
    _run(obj, lambda a, loaded: [a.plan_fix_reference(loaded, return_ref, new_link, record)],
         yes)


@act.command("requeue")
@click.argument("return_refs", nargs=-1, required=True)
@_YES
@click.pass_obj
def requeue(obj: dict, return_refs: tuple[str, ...], yes: bool) -> None:
    """Make the missing document of each RETURN_REF, never twice: the return order where
    the ERP has none, the receipt where the ERP makes one (NetSuite: only once the platform
    has received the goods and decided what goes back on sale), else the credit note
    (created and posted); an ERP that pulls from us (Khaos) is offered the return again at
    its next pull."""
    from .domain.codes import Action

    _run(obj, lambda a, loaded: a.plans_for(loaded, Action.REQUEUE_POSTING, list(return_refs)),
         yes)


@act.command("triage")
@click.argument("step", type=click.Choice(["acknowledge", "snooze", "assign", "note", "tag",
                                           "reopen"]))
@click.argument("return_ref")
@click.option("--code", default=None, help="Only this exception of the return.")
@click.option("--value", default=None, help="The date, name, note or tag.")
@click.pass_obj
def triage(obj: dict, step: str, return_ref: str, code: str | None,
           value: str | None) -> None:
    """Acknowledge, snooze (--value DATE), assign (--value WHO), note, tag or reopen the
    exceptions of RETURN_REF (local triage state; allowed in read-only sessions)."""
    session = _session(obj)
    try:
        actions = _actions(obj, session)
        loaded = _loaded(session, actions)
        found = [f for f in loaded.report.findings if f.return_ref == return_ref
                 and (code is None or f.code.value == code.upper())]
        if not found:
            raise UserError(f"no open exception on {return_ref}"
                            + (f" with code {code}" if code else ""))
        outcomes = [actions.set_triage(f, step, value) for f in found]
        for o in outcomes:
            click.echo(f"{'done' if o.ok else 'FAILED'}: {o.message}", err=not o.ok)
        sys.exit(0 if all(o.ok for o in outcomes) else 1)
    finally:
        session.close()


@act.command("undo")
@click.argument("row", type=int)
@_YES
@click.pass_obj
def undo(obj: dict, row: int, yes: bool) -> None:
    """Undo the action of audit ROW where it can be undone (mappings, triage); for an ERP
    write, print the compensating step."""
    def make(actions, loaded):
        plan = actions.undo_plan(row)
        if isinstance(plan, str):
            click.echo(plan, err=True)
            sys.exit(1)
        return [plan]

    _run(obj, make, yes, undo=True)
