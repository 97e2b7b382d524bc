"""The pair table for README.md, generated from the registry (`python -m
returns_console.systems.table`; tests/contracts/test_pair_table.py keeps the README's copy
equal to it): which systems exist, which pairs the sandbox serves, which codes each pair can
show, which actions each ERP supports."""

from __future__ import annotations

from itertools import product

from ..domain.catalogue import codes_for
from ..domain.codes import Action, Code, Side
from . import all_systems

#: Remaps change only the console's own mapping tables: every ERP gets them.
LOCAL_ACTIONS = (Action.REMAP_SKU, Action.REMAP_CODE)


def markdown() -> str:
    every = all_systems()
    out = ["| system | side | status | reads "
           "| actions (remaps are local; the rest write to the ERP) |",
           "|---|---|---|---|---|"]
    for s in every:
        reads = ", ".join(r.value for r in s.capabilities.reads) if s.built else "-"
        writes = ", ".join(a.value for a in (*LOCAL_ACTIONS, *sorted(s.capabilities.writes))
                           ) if s.side is Side.ERP and s.built else "-"
        out.append(f"| {s.name} (`{s.id}`) | {s.side.value} | "
                   f"{'built' if s.built else 'planned'} | {reads} | {writes} |")
    out += ["", "| pair (`demo --platform P --erp E`) | codes it can show | codes it cannot |",
            "|---|---|---|"]
    built = [s for s in every if s.built and s.simulator]
    for p, e in product([s for s in built if s.side is Side.PLATFORM],
                        [s for s in built if s.side is Side.ERP]):
        shown = codes_for(p.capabilities.facts | e.capabilities.facts)
        missing = [c.value for c in Code if c not in shown]
        out.append(f"| `{p.id}` + `{e.id}` | {len(shown)} of {len(Code)} | "
                   f"{', '.join(missing) or 'none'} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
