"""Pairing: line each platform return up with the ERP records carrying its link key.

An ERP record whose link matches no platform return is kept as an orphan (a wrong or
missing link is itself something to show, never a silent non-match).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .model import ErpView, PayloadProblem, PlatformView, ReturnCase


def link_of(return_ref: str) -> str:
    """The normalised form two systems' spellings of one reference share."""
    return return_ref.strip().casefold()


@dataclass(slots=True)
class Paired:
    cases: list[ReturnCase] = field(default_factory=list)
    orphans: list[ErpView] = field(default_factory=list)


def pair(
    platform: Iterable[PlatformView],
    erp: Mapping[str, ErpView],
    erp_system: str,
    problems: Mapping[str, list[PayloadProblem]] | None = None,
    unseen: ErpView | None = None,
    platform_system: str = "unknown",
) -> Paired:
    """`unseen` is the view for a return the ERP has no record of (default: nothing yet).

    A record that did not validate under a link key no platform return has still becomes
    a case of its own (reported as PAYLOAD_INVALID): an unreadable record is never dropped.
    """
    by_link = {link_of(ref): view for ref, view in erp.items()}
    empty = unseen or ErpView(system=erp_system)
    written = {link_of(ref): ref for ref in (problems or {})}
    problems = {link_of(ref): list(found) for ref, found in (problems or {}).items()}
    out = Paired()
    views = list(platform)
    # every main reference first, then the other ids a view is known by: an ERP record
    # under one return's own reference is never taken by another's alias
    keys = [link_of(view.return_ref) for view in views]
    taken = {key for key in keys if key in by_link}
    for n, view in enumerate(views):
        if keys[n] not in taken and view.aliases:  # the ERP may carry another of its ids
            alias = next((k for k in map(link_of, view.aliases)
                          if k in by_link and k not in taken), None)
            if alias is not None:
                keys[n] = alias
                taken.add(alias)
    for view, key in zip(views, keys, strict=True):
        erp_view = by_link.pop(key, empty)
        out.cases.append(ReturnCase(platform=view, erp=erp_view,
                                    problems=tuple(problems.pop(key, ()))))
    for key, found in problems.items():
        if found:
            stand_in = PlatformView(system=platform_system, return_ref=written[key])
            out.cases.append(ReturnCase(platform=stand_in, erp=by_link.pop(key, empty),
                                        problems=tuple(found)))
    by_link = {key: view for key, view in by_link.items() if view.return_document}
    for key, orphan in by_link.items():
        stand_in = PlatformView(system=platform_system, return_ref=orphan.return_ref or key)
        out.cases.append(ReturnCase(platform=stand_in, erp=orphan, unlinked=True))
    out.orphans = list(by_link.values())
    return out
