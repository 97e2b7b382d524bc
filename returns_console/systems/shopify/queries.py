"""The GraphQL documents the Shopify connector sends (Admin API, docs/vendors/shopify.md),
and how many returns each may carry under the single-query cost limit.

Shopify lists no returns at the top (§2.1) and keeps no `updatedAt` on a return: what
changed is found through the orders (`orders(query: "updated_at:>…", sortKey: UPDATED_AT)`,
§2.2), each with its returns' ids. The returns are then read by id (`nodes(ids:)`), in
three lean documents rather than one: every nested connection multiplies a query's
requested cost, and one document with a return's lines, reverse fulfillment (with the
dispositions of each line) and refunds (with their lines and transactions) asks about 600
points for a single return, against a limit of 1,000 per query (§5). Apart, each carries a
batch of returns:

- `RETURN_CORE`: the return, its order's header, its lines (SKU, quantities, reason,
  price) and exchange lines;
- `RETURN_DISPOSITIONS`: its reverse fulfillment orders, their lines and dispositions
  (received, inspected, restocked: §3.5, §4.3);
- `RETURN_REFUNDS`: its refunds, their lines (restock type), shipping and transactions
  (money back only with a successful REFUND transaction: §3.6, §3.7).

Each connection asks for more children than such a return has in practice; a return whose
answer says a connection has more (`hasNextPage`) is read again alone with pages of
`ALONE` (docs/shopify-netsuite-mapping.md, read plan). The requested cost is what
`kits/graphql/server.py` reckons from Shopify's table (objects 1, a connection by its size,
a list asked for by ids one object per id); the client learns the real figure from each
answer and paces by it (`kits/graphql/cost.py`).
"""

from __future__ import annotations

#: The most one query may ask (docs/vendors/shopify.md §5).
MAX_QUERY_COST = 1000
#: Children asked per return in a batch.
LINES = 10
RFOS = 2
#: Reverse deliveries (a label and its tracking) read per reverse fulfillment order: the
#: first says when the parcel could set off (the in-transit stage); a return with more is
#: read again alone with `ALONE_DELIVERIES`.
DELIVERIES = 1
ALONE_DELIVERIES = 5
REFUNDS = 2
REFUND_LINES = 5
TRANSACTIONS = 3
SHIPPING = 2
#: Page size of the connection read again for a return that has more than the batch asked.
ALONE = 50
#: Orders per page of the changed-orders read, and returns asked per order there.
ORDERS_PER_PAGE = 76
RETURNS_PER_ORDER = 10

_MONEY = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"


_CORE_FIELDS = f"""
    id name status createdAt requestApprovedAt closedAt totalQuantity
    decline {{ reason }}
    order {{ id name email createdAt currencyCode presentmentCurrencyCode }}
    returnShippingFees {{ amountSet {{ {_MONEY} }} }}"""
_RETURN_LINE = f"""
        __typename id quantity processedQuantity refundedQuantity returnReason
        ... on ReturnLineItem {{
          fulfillmentLineItem {{ lineItem {{ id sku originalUnitPriceSet {{ {_MONEY} }} }} }}
        }}"""
_EXCHANGE_LINE = "__typename id quantity processedQuantity lineItems { id sku }"


def return_core(lines: int = LINES) -> str:
    return f"""{_CORE_FIELDS}
    returnLineItems(first: {lines}) {{
      nodes {{{_RETURN_LINE}
      }}
      pageInfo {{ hasNextPage }}
    }}
    exchangeLineItems(first: {lines}) {{
      nodes {{ {_EXCHANGE_LINE} }}
      pageInfo {{ hasNextPage }}
    }}"""


def bulk_orders(moment: str) -> str:
    """A bulk query (§7) of every order changed since `moment` with its returns' core
    part: the orders, their returns, and each return's lines and exchange lines, four
    connections nested two deep, whole (a bulk query takes no page sizes). The parts a
    bulk query cannot carry (reverse fulfillment lines, refund lines: §7) are read by id
    after it."""
    return f"""{{
  orders(sortKey: UPDATED_AT, query: "updated_at:>'{moment}'") {{
    edges {{ node {{
      id updatedAt returnStatus
      returns {{ edges {{ node {{{_CORE_FIELDS}
        returnLineItems {{ edges {{ node {{{_RETURN_LINE}
        }} }} }}
        exchangeLineItems {{ edges {{ node {{ {_EXCHANGE_LINE} }} }} }}
      }} }} }}
    }} }}
  }}
}}"""


RUN_BULK = """mutation RunBulk($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}"""
CANCEL_BULK = """mutation CancelBulk($id: ID!) {
  bulkOperationCancel(id: $id) { bulkOperation { id status } userErrors { field message } }
}"""
#: Polled through `node(id:)`, which every version answers (`bulkOperation(id:)` is
#: 2026-01's, §7).
POLL_BULK = """query PollBulk($id: ID!) {
  bulkOperation: node(id: $id) {
    ... on BulkOperation { id status errorCode createdAt objectCount url }
  }
}"""
#: The app's bulk query operations under way, to find one the console started (an earlier
#: process's, or a start whose answer was lost): `bulkOperations` with the status filter
#: (2026-01+; `currentBulkOperation` is deprecated there), created and running asked apart
#: (the filter's documented form is one status a term), created first (an operation only
#: moves on, so one that starts running in between is still seen), five of each (at most
#: five run at a time, 2026-01+: §7), newest first (its default order).
RUNNING_BULKS = """query RunningBulks {
  created: bulkOperations(first: 5, query: "operation_type:query status:created") {
    nodes { id status query createdAt }
  }
  running: bulkOperations(first: 5, query: "operation_type:query status:running") {
    nodes { id status query createdAt }
  }
}"""
#: Before 2026-01 (one query operation at a time, §7): the app's most recent one.
CURRENT_BULK = """query CurrentBulk {
  current: currentBulkOperation(type: QUERY) { id status query createdAt }
}"""


def running_bulks(api_version: str) -> str:
    """How the pinned version finds the app's running exports: `bulkOperations` from
    2026-01 (where `currentBulkOperation` is deprecated), `currentBulkOperation` before
    (where `bulkOperations` does not exist)."""
    return RUNNING_BULKS if api_version >= "2026-01" else CURRENT_BULK


#: The orders a search finds, and those of them with returns (`return_status`, §2.2; an
#: order's aggregated return status is NO_RETURN when none of its items were returned).
COUNT_ORDERS = """query CountOrders($all: String, $returned: String) {
  all: ordersCount(query: $all, limit: null) { count precision }
  returned: ordersCount(query: $returned, limit: null) { count precision }
}"""


def with_returns(search: str) -> str:
    """`search` narrowed to orders with a return."""
    return f"{search} -return_status:no_return"


def return_dispositions(rfos: int = RFOS, lines: int = LINES,
                        deliveries: int = DELIVERIES) -> str:
    return f"""
    id
    reverseFulfillmentOrders(first: {rfos}) {{
      nodes {{
        id status
        lineItems(first: {lines}) {{
          nodes {{
            id totalQuantity
            fulfillmentLineItem {{ lineItem {{ id sku }} }}
            dispositions {{ id createdAt quantity type location {{ id name }} }}
          }}
          pageInfo {{ hasNextPage }}
        }}
        reverseDeliveries(first: {deliveries}) {{
          nodes {{
            id
            deliverable {{
              ... on ReverseDeliveryShippingDeliverable {{
                label {{ createdAt }} tracking {{ number }}
              }}
            }}
          }}
          pageInfo {{ hasNextPage }}
        }}
      }}
      pageInfo {{ hasNextPage }}
    }}"""


def return_refunds(refunds: int = REFUNDS, lines: int = REFUND_LINES,
                   transactions: int = TRANSACTIONS) -> str:
    return f"""
    id
    refunds(first: {refunds}) {{
      nodes {{
        id createdAt processedAt
        refundLineItems(first: {lines}) {{
          nodes {{
            quantity restockType restocked location {{ id }}
            lineItem {{ id sku }}
            subtotalSet {{ shopMoney {{ amount currencyCode }} }}
            totalTaxSet {{ shopMoney {{ amount currencyCode }} }}
          }}
          pageInfo {{ hasNextPage }}
        }}
        refundShippingLines(first: {SHIPPING}) {{
          nodes {{
            subtotalAmountSet {{ shopMoney {{ amount currencyCode }} }}
            taxAmountSet {{ shopMoney {{ amount currencyCode }} }}
          }}
        }}
        transactions(first: {transactions}) {{
          nodes {{ id kind status processedAt gateway amountSet {{ {_MONEY} }} }}
          pageInfo {{ hasNextPage }}
        }}
      }}
      pageInfo {{ hasNextPage }}
    }}"""


#: The three parts of a return's record, by the name its answer is filed under.
PARTS: dict[str, str] = {
    "core": return_core(),
    "dispositions": return_dispositions(),
    "refunds": return_refunds(),
}
#: Returns per query for each part (`tests/conformance/shopify` checks that each fits under
#: MAX_QUERY_COST as the schema reckons it).
BATCH: dict[str, int] = {"core": 10, "dispositions": 8, "refunds": 7}


def by_ids(fields: str) -> str:
    """Returns by id (`$ids`), each with `fields`."""
    return f"""query ReturnsById($ids: [ID!]!) {{
  nodes(ids: $ids) {{ __typename ... on Return {{ {fields} }} }}
}}"""


def changed_orders(page_size: int = ORDERS_PER_PAGE,
                   returns_per_order: int = RETURNS_PER_ORDER) -> str:
    """A page of orders changed since the filter's moment (`$query`, sorted by the same
    field, as Shopify asks of a range search: §2.2), each with the ids of its returns."""
    return f"""query ChangedOrders($after: String, $query: String) {{
  orders(first: {page_size}, after: $after, sortKey: UPDATED_AT, query: $query) {{
    nodes {{
      id updatedAt
      returns(first: {returns_per_order}) {{ nodes {{ id }} pageInfo {{ hasNextPage }} }}
    }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""


def order_returns(page_size: int = ALONE) -> str:
    """The ids of one order's returns, a page at a time (an order with more returns than
    `changed_orders` asks for)."""
    return f"""query OrderReturns($id: ID!, $after: String) {{
  order(id: $id) {{
    returns(first: {page_size}, after: $after) {{
      nodes {{ id }} pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}"""


#: Ids asked per query of `hinted_orders` (`tests/conformance/shopify` checks the limit).
HINT_BATCH = 66


def hinted_orders(returns_per_order: int = RETURNS_PER_ORDER) -> str:
    """The returns' ids of what webhooks named (`$ids`): an order's own, or those of the
    order a reverse fulfillment order or a refund belongs to (and a refund's return)."""
    order = (f"id returns(first: {returns_per_order}) {{ nodes {{ id }} "
             "pageInfo { hasNextPage } }")
    return f"""query HintedOrders($ids: [ID!]!) {{
  nodes(ids: $ids) {{
    __typename
    ... on Order {{ {order} }}
    ... on ReverseFulfillmentOrder {{ id rfoOrder: order {{ {order} }} }}
    ... on Refund {{ id return {{ id }} refundOrder: order {{ {order} }} }}
  }}
}}"""
