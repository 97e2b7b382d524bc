"""OData v4: the client plumbing (paging, ETags, error envelopes, quoting) and the
simulators' query engine, shared by every system that speaks it."""

#: The protocol's own names (tests/contracts/test_system_names.py keeps them out of the
#: generic layers).
NAMES = frozenset({"@odata.etag", "@odata.nextLink", "@odata.context", "$skiptoken",
                   "If-Match", "odata.maxpagesize"})
