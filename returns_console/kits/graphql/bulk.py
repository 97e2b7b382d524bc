"""Bulk query operations, the server side (Shopify's `bulkOperationRunQuery`,
docs/vendors/shopify.md §7): a query run whole, its connections unpaged, its answer written
as JSON Lines, one node a line, a nested connection's nodes on lines of their own after
their parent's, each naming it in `__parentId`.

Generic: what a bulk query may ask (§7: at most five connections, nested at most two deep
below the top one, no top-level `node`/`nodes`, at least one connection) is checked here on
the document; the system's simulator keeps the operations and serves the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
)

MAX_CONNECTIONS = 5
#: Connections inside connections, below the top one (`orders { returns { lines } }`: 2).
MAX_NESTING = 2


def refusal(schema: GraphQLSchema, document: Any) -> str | None:
    """Why this document cannot run as a bulk query, or None."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return "Bulk queries must contain exactly one query operation."
    root = schema.query_type
    assert root is not None
    top = [s for s in operations[0].selection_set.selections if isinstance(s, FieldNode)]
    if any(s.name.value in ("node", "nodes") for s in top):
        return "Bulk queries cannot contain a top level `node` or `nodes` field."
    found: list[int] = []  # the depth of each connection field

    def walk(parent: Any, selections: SelectionSetNode | None, depth: int) -> None:
        for node in selections.selections if selections else ():
            if not isinstance(node, FieldNode):
                walk(parent, getattr(node, "selection_set", None), depth)
                continue
            field = getattr(parent, "fields", {}).get(node.name.value)
            if field is None:
                continue
            named = get_named_type(field.type)
            if named.name.endswith("Connection"):
                found.append(depth)
                inner = _node_type(named)
                for sub in node.selection_set.selections if node.selection_set else ():
                    if isinstance(sub, FieldNode) and sub.name.value == "nodes":
                        walk(inner, sub.selection_set, depth + 1)
                    elif isinstance(sub, FieldNode) and sub.name.value == "edges":
                        for edge in sub.selection_set.selections if sub.selection_set else ():
                            if isinstance(edge, FieldNode) and edge.name.value == "node":
                                walk(inner, edge.selection_set, depth + 1)
            else:
                walk(named, node.selection_set, depth)

    walk(root, operations[0].selection_set, 0)
    if not found:
        return "Bulk queries must contain at least one connection."
    if len(found) > MAX_CONNECTIONS:
        return f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
    if max(found) > MAX_NESTING:
        return f"Bulk queries cannot contain connections nested more than {MAX_NESTING} levels."
    return None


def _node_type(connection_type: Any) -> Any:
    nodes = connection_type.fields.get("nodes")
    return get_named_type(nodes.type) if nodes is not None else connection_type


def _connection_nodes(value: Any) -> list[Any] | None:
    """The nodes of a connection as executed (`nodes`, or `edges[].node`), None if `value`
    is not one."""
    if not isinstance(value, Mapping) or not ({"nodes", "edges"} & value.keys()) or \
            not value.keys() <= {"nodes", "edges", "pageInfo"}:
        return None
    if isinstance(value.get("nodes"), list):
        return list(value["nodes"])
    return [e.get("node") for e in value.get("edges") or () if isinstance(e, Mapping)]


def lines(data: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The executed answer as JSONL objects: each node of a connection a line, its nested
    connections taken out of it and their nodes following it with `__parentId` (its id);
    other nested objects and lists stay on its line."""

    def node_lines(node: Any, parent: str | None) -> Iterator[dict[str, Any]]:
        if not isinstance(node, Mapping):
            return
        line: dict[str, Any] = {}
        children: list[list[Any]] = []
        for key, value in node.items():
            nodes = _connection_nodes(value)
            if nodes is None:
                line[key] = value
            else:
                children.append(nodes)
        if parent is not None:
            line["__parentId"] = parent
        yield line
        for nodes in children:
            for child in nodes:
                yield from node_lines(child, str(node.get("id")))

    for value in data.values():
        for node in _connection_nodes(value) or ():
            yield from node_lines(node, None)


def jsonl(data: Mapping[str, Any], *, grouped: bool = True) -> tuple[bytes, int, int]:
    """The file's bytes, its objects and its root objects; `grouped` False: the top-level
    nodes first, the rest after (an order Shopify's `groupObjects: false` allows)."""
    out, count, roots = [], 0, 0
    every = list(lines(data))
    if not grouped:
        every.sort(key=lambda line: "__parentId" in line)
    for line in every:
        out.append(json.dumps(line, separators=(",", ":")))
        count += 1
        roots += "__parentId" not in line
    return ("\n".join(out) + ("\n" if out else "")).encode(), count, roots
