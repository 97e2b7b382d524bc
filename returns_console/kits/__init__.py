"""Shared protocol kits: the plumbing several systems speak (OData v4, ...), client and
server side, so each system folder holds only what is its own."""

from .odata import NAMES as _ODATA_NAMES

#: Names that belong to a protocol (its envelope and paging fields), by kit: they may
#: appear in the kit and in the systems that speak it, never in the generic layers.
KIT_NAMES: dict[str, frozenset[str]] = {"odata": _ODATA_NAMES}
