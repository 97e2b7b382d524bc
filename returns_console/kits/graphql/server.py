"""GraphQL over HTTP, the server side: what every simulator of a GraphQL API needs (Shopify's
Admin API first), built on graphql-core, so a query is parsed, validated and executed as a
real server does it: unknown fields and bad arguments are errors, aliases and fragments
work, only what was asked for is sent.

On top: cursor connections over plain lists (`first`/`after`/`last`/`before`, `nodes`,
`edges {cursor node}`, `pageInfo`), a filter hook per connection field (a system's search
syntax stays in its folder), and calculated query cost with a leaky bucket: each operation's
requested cost computed from the document before it runs (`CostRules`), refused when no
single query may cost that much, throttled when the bucket cannot hold it, the unused part
given back after it ran, and `extensions.cost` on every answer as the docs show it.
Imported only by simulators (graphql-core is not loaded by the console itself).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    build_schema,
    execute,
    get_named_type,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.utilities import value_from_ast_untyped

#: A filter for one connection field: (its records, the field's arguments) → those kept.
ConnectionFilter = Callable[[Sequence[Any], Mapping[str, Any]], Sequence[Any]]


@dataclass(frozen=True, slots=True)
class CostRules:
    """How an operation's requested cost is reckoned (the vendor's documented table)."""

    scalar: int = 0
    object: int = 1
    #: A connection: `connection` plus (first or last) times one node's selection.
    connection: int = 2
    mutation: int = 10
    #: The most a single operation may request.
    max_query: int = 1000


@dataclass(slots=True)
class ServerBucket:
    """The leaky bucket of cost: `maximum` points, refilled at `restore_rate` a second."""

    maximum: float = 1000.0
    restore_rate: float = 50.0
    clock: Callable[[], float] = time.monotonic
    available: float = field(default=-1.0)
    at: float = 0.0

    def level(self) -> float:
        now = self.clock()
        if self.available < 0:
            self.available, self.at = self.maximum, now
        held = min(self.maximum, self.available + (now - self.at) * self.restore_rate)
        self.available, self.at = held, now
        return held

    def take(self, points: float) -> None:
        self.available = self.level() - points

    def give(self, points: float) -> None:
        self.available = min(self.maximum, self.level() + points)

    def status(self) -> dict[str, float]:
        return {"maximumAvailable": self.maximum,
                "currentlyAvailable": round(self.level(), 3),
                "restoreRate": self.restore_rate}


def encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"last_id": index}).encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["last_id"])
    except (ValueError, KeyError, TypeError, OverflowError):
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from None


def connection(items: Sequence[Any], args: Mapping[str, Any], *,
               max_size: int = 250) -> dict[str, Any]:
    """A cursor connection over `items`, as the arguments pick them. Cursors are places in
    the list as it is now (a simulator's lists change only between reads)."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    if first is not None and last is not None:
        raise GraphQLError("providing both first and last is not supported")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= max_size:
            raise GraphQLError(f"The value of `{name}` must be between 0 and {max_size}.")
    size = len(items)
    order = range(size - 1, -1, -1) if args.get("reverse") else range(size)

    def place(name: str) -> int | None:  # where the cursor's item stands in `order`
        cursor = args.get(name)
        if cursor is None:
            return None
        index = decode_cursor(cursor)
        if not 0 <= index < size:
            raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}")
        return size - 1 - index if args.get("reverse") else index

    after, before = place("after"), place("before")
    start = after + 1 if after is not None else 0
    stop = before if before is not None else size
    window = order[start:max(start, stop)]
    chosen = (window[:first] if first is not None
              else window[max(0, len(window) - int(last or 0)):])
    nodes = [items[i] for i in chosen]
    edges = [{"cursor": encode_cursor(i), "node": items[i]} for i in chosen]
    taken = len(chosen)
    # more beyond the page: within the window, or past `before` / before `after`
    later = (first is not None and taken < len(window)) or stop < size
    earlier = (last is not None and taken < len(window)) or start > 0
    return {
        "nodes": nodes, "edges": edges,
        "pageInfo": {
            "hasNextPage": later, "hasPreviousPage": earlier,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


class Endpoint:
    """One GraphQL endpoint: a schema (SDL), a root value per request, filters for its
    connection fields, cost rules and a bucket. `answer(body)` is the HTTP layer's whole
    job: (status, JSON body)."""

    def __init__(self, sdl: str, root: Callable[[], Mapping[str, Any]], *,
                 filters: Mapping[str, ConnectionFilter] | None = None,
                 rules: CostRules | None = None, bucket: ServerBucket | None = None) -> None:
        self.schema: GraphQLSchema = build_schema(sdl)
        self.root = root
        self.filters = dict(filters or {})
        self.rules = rules or CostRules()
        self.bucket = bucket or ServerBucket()
        self._wire_connections()

    def _wire_connections(self) -> None:
        for type_ in self.schema.type_map.values():
            if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
                continue
            for name, field_ in type_.fields.items():
                if get_named_type(field_.type).name.endswith("Connection"):
                    field_.resolve = self._connection_resolver(f"{type_.name}.{name}")

    def _connection_resolver(self, key: str) -> Callable[..., Any]:
        def resolve(parent: Any, info: Any, **args: Any) -> Any:
            items = parent.get(info.field_name) if isinstance(parent, Mapping) else None
            if callable(items):
                items = items(args)
            items = list(items or ())
            chosen = self.filters.get(key)
            if chosen is not None:
                items = list(chosen(items, args))
            if isinstance(info.context, Mapping) and info.context.get("bulk"):
                return {"nodes": items, "edges": [{"cursor": encode_cursor(i), "node": n}
                                                  for i, n in enumerate(items)],
                        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False}}
            return connection(items, args)
        return resolve

    def run_whole(self, query: str) -> tuple[dict[str, Any] | None, str | None]:
        """A bulk query run as the vendor runs one (`bulk.py`): every connection whole,
        paging arguments ignored, no cost charged per object. (answer data, None), or
        (None, why it cannot run)."""
        from . import bulk

        try:
            document = parse(query)
        except GraphQLError as exc:
            return None, f"Invalid bulk query: {exc.message}"
        invalid = validate(self.schema, document)
        if invalid:
            return None, f"Invalid bulk query: {invalid[0].message}"
        why = bulk.refusal(self.schema, document)
        if why is not None:
            return None, why
        result = execute(self.schema, document, root_value=self.root(),
                         context_value={"bulk": True})
        if not isinstance(result, ExecutionResult):
            raise TypeError("async resolvers are not supported")
        if result.errors:
            return None, f"Invalid bulk query: {result.errors[0].message}"
        return result.data or {}, None

    # -- one request ---------------------------------------------------------------------

    def answer(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            request = json.loads(body)
        except ValueError:
            return 400, {"errors": [{"message": "Invalid JSON in request body"}]}
        if not isinstance(request, Mapping) or not isinstance(request.get("query"), str):
            return 400, {"errors": [{"message": "Parameter Missing or Invalid: query"}]}
        variables = request.get("variables") or {}
        if not isinstance(variables, Mapping):
            return 400, {"errors": [{"message": "Variables must be an object"}]}
        try:
            document = parse(request["query"])
        except GraphQLError as exc:
            return 200, {"errors": [_error(exc, "PARSE_ERROR")]}
        invalid = validate(self.schema, document)
        if invalid:
            return 200, {"errors": [_error(e, "GRAPHQL_VALIDATION_FAILED")
                                    for e in invalid]}
        operation = _operation(document, request.get("operationName"))
        if operation is None:
            return 200, {"errors": [{"message": "No operation to run"}]}
        coerced = get_variable_values(self.schema, operation.variable_definitions or [],
                                      dict(variables))
        if isinstance(coerced, list):  # the errors of variables that do not fit
            return 200, {"errors": [_error(e, "INVALID_VARIABLE") for e in coerced]}
        requested = self.cost(document, coerced, request.get("operationName"))
        cost: dict[str, Any] = {"requestedQueryCost": requested, "actualQueryCost": None}
        if requested > self.rules.max_query:
            cost["throttleStatus"] = self.bucket.status()
            return 200, {"errors": [{
                "message": f"Query cost is {requested}, which exceeds the single query max "
                           f"cost limit ({self.rules.max_query}).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                               "maxCost": self.rules.max_query}}],
                "extensions": {"cost": cost}}
        if self.bucket.level() < requested:
            cost["throttleStatus"] = self.bucket.status()
            return 200, {"errors": [{"message": "Throttled",
                                     "extensions": {"code": "THROTTLED"}}],
                         "extensions": {"cost": cost}}
        self.bucket.take(requested)
        result = execute(self.schema, document, root_value=self.root(),
                         variable_values=coerced,
                         operation_name=request.get("operationName"))
        if not isinstance(result, ExecutionResult):  # no resolver here is async
            raise TypeError("async resolvers are not supported")
        actual = min(requested, self.actual_cost(result.data))
        self.bucket.give(requested - actual)
        cost["actualQueryCost"] = actual
        cost["throttleStatus"] = self.bucket.status()
        out: dict[str, Any] = {}
        if result.errors:
            out["errors"] = [_error(e, None) for e in result.errors]
        out["data"] = result.data
        out["extensions"] = {"cost": cost}
        return 200, out

    # -- cost ----------------------------------------------------------------------------

    def cost(self, document: Any, variables: Mapping[str, Any],
             operation_name: str | None = None) -> int:
        """The requested cost of the operation the request runs."""
        fragments = {d.name.value: d for d in document.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        chosen = _operation(document, operation_name)
        if chosen is None:
            return 0
        if chosen.operation is OperationType.MUTATION:
            root = self.schema.mutation_type
            base = self.rules.mutation
        else:
            root = self.schema.query_type
            base = 0
        assert root is not None
        return base + self._selection_cost(root, chosen.selection_set, fragments,
                                           dict(variables))

    def _selection_cost(self, parent: Any, selections: SelectionSetNode | None,
                        fragments: Mapping[str, FragmentDefinitionNode],
                        variables: Mapping[str, Any]) -> int:
        """Fields are summed with the fragments that apply to the object. On an interface or
        a union the object is one of its types, not known before: each possible type is
        reckoned with the fragments that would apply to it, and the dearest counts, as
        Shopify reckons them ("Interface/Union: Maximum of possible selections")."""
        if selections is None:
            return 0
        total = 0
        applied: list[tuple[Any, int]] = []  # (type condition, cost of its selection)
        for node in selections.selections:
            if isinstance(node, FieldNode):
                fields = getattr(parent, "fields", {})
                field_ = fields.get(node.name.value)
                if field_ is not None:
                    total += self._field_cost(field_, node, fragments, variables)
                continue
            if isinstance(node, InlineFragmentNode):
                condition, selection = node.type_condition, node.selection_set
            elif isinstance(node, FragmentSpreadNode):
                fragment = fragments.get(node.name.value)
                if fragment is None:
                    continue
                condition, selection = fragment.type_condition, fragment.selection_set
            else:
                continue
            target = self.schema.get_type(condition.name.value) if condition else parent
            if target is not None:
                applied.append((target, self._selection_cost(target, selection, fragments,
                                                             variables)))
        if isinstance(parent, GraphQLInterfaceType | GraphQLUnionType):
            kinds: list[Any] = list(self.schema.get_possible_types(parent)) or [parent]
            return total + max(sum(cost for target, cost in applied
                                   if self._applies(target, kind, parent))
                               for kind in kinds)
        return total + sum(cost for target, cost in applied
                           if self._applies(target, parent, parent))

    def _applies(self, condition: Any, kind: Any, parent: Any) -> bool:
        """Whether a fragment on `condition` applies to an object of type `kind`."""
        if condition is parent or condition is kind:
            return True
        if isinstance(condition, GraphQLInterfaceType | GraphQLUnionType) and \
                isinstance(kind, GraphQLObjectType):
            return self.schema.is_sub_type(condition, kind)
        return False

    def _field_cost(self, field_: GraphQLField, node: FieldNode,
                    fragments: Mapping[str, FragmentDefinitionNode],
                    variables: Mapping[str, Any]) -> int:
        named = get_named_type(field_.type)
        if named.name.endswith("Connection"):
            args = {a.name.value: value_from_ast_untyped(a.value, dict(variables))
                    for a in node.arguments}
            size = max(0, int(args.get("first") or args.get("last") or 0))
            node_type = self._node_type(named)
            inner = 0
            for sub in node.selection_set.selections if node.selection_set else ():
                if isinstance(sub, FieldNode) and sub.name.value in ("nodes", "edges"):
                    selection = sub.selection_set
                    if sub.name.value == "edges" and selection is not None:
                        selection = next((s.selection_set for s in selection.selections
                                          if isinstance(s, FieldNode)
                                          and s.name.value == "node"), None)
                    inner = max(inner, self.rules.object + self._selection_cost(
                        node_type, selection, fragments, variables))
            return self.rules.connection + size * inner
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            one = self.rules.object + self._selection_cost(named, node.selection_set,
                                                           fragments, variables)
            # a list asked for by a list of keys (`nodes(ids:)`): one object per key
            keys = [value_from_ast_untyped(a.value, dict(variables)) for a in node.arguments]
            sized = max((len(k) for k in keys if isinstance(k, list)), default=1)
            return one * max(1, sized)
        return self.rules.scalar

    def _node_type(self, connection_type: Any) -> Any:
        nodes = connection_type.fields.get("nodes")
        return get_named_type(nodes.type) if nodes is not None else connection_type

    def actual_cost(self, data: Any) -> int:
        """What the answer cost: one object point per object sent (connections count the
        nodes they had, not those asked for), never more than requested."""
        if isinstance(data, Mapping):
            return sum(self.actual_cost(v) + (self.rules.object if isinstance(v, Mapping)
                                              else 0)
                       for k, v in data.items() if k != "pageInfo")
        if isinstance(data, list):
            return sum(self.actual_cost(v) + (self.rules.object if isinstance(v, Mapping)
                                              else 0) for v in data)
        return 0


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return next((o for o in operations if o.name and o.name.value == name),
                operations[0] if operations else None)


def _error(exc: GraphQLError, code: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"message": exc.message}
    if exc.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in exc.locations]
    if exc.path:
        out["path"] = list(exc.path)
    if code:
        out["extensions"] = {"code": code}
    return out
