"""Shared protocol kits: the plumbing several systems speak (OData v4, GraphQL, ...), client and
server side, so each system folder holds only what is its own."""

from .graphql import NAMES as _GRAPHQL_NAMES
from .odata import NAMES as _ODATA_NAMES

#: Names that belong to a protocol (its envelope and paging fields), by kit: they may
#: appear in the kit and in the systems that speak it, never in the generic layers.
KIT_NAMES: dict[str, frozenset[str]] = {"graphql": _GRAPHQL_NAMES, "odata": _ODATA_NAMES}
