"""GraphQL over HTTP: the client plumbing (operations, cursor paging, errors, cost-based
throttling) shared by every system that speaks it."""

#: The protocol's own names (tests/contracts/test_system_names.py keeps them out of the
#: generic layers).
NAMES = frozenset({"pageInfo", "endCursor", "hasNextPage", "throttleStatus",
                   "requestedQueryCost", "actualQueryCost", "currentlyAvailable",
                   "maximumAvailable", "restoreRate", "THROTTLED"})
