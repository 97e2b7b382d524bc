"""The GraphQL documents the Shopify connector sends (Admin API, docs/vendors/shopify.md).

Shopify lists no returns at the top (§2.1) and keeps no `updatedAt` on a return: what
changed is found through the orders (`orders(query: "updated_at:>…", sortKey: UPDATED_AT)`,
§2.2), each with its returns' ids; the returns are then read whole by id, a batch at a time
(`nodes(ids:)`), each one record with its order's header, lines, reverse fulfillment
(dispositions), refunds (with their lines and transactions) and exchange lines.

Sizes are chosen against the 1,000-point limit on one query's requested cost (§5): every
nested connection multiplies. `RETURN_COST` is what one return's selection asks (measured
against the schema subset with Shopify's table: objects 1, connections by their size);
`returns_per_query` fits as many as the limit holds.
"""

from __future__ import annotations

#: Children asked per return: more than a return of this shape has in practice; a return
#: with more is read again alone with bigger pages (`LINES_ALONE`).
LINES = 10
RFOS = 2
REFUNDS = 3
TRANSACTIONS = 3
#: The same, for a return whose first read showed more on some connection.
LINES_ALONE = 50

_MONEY = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"


def return_fields(lines: int = LINES, rfos: int = RFOS, refunds: int = REFUNDS,
                  transactions: int = TRANSACTIONS) -> str:
    """One return's selection (on `Return`): everything its view is made of."""
    return f"""
    id name status createdAt requestApprovedAt closedAt totalQuantity
    decline {{ reason }}
    order {{ id name email createdAt currencyCode presentmentCurrencyCode }}
    returnShippingFees {{ amountSet {{ {_MONEY} }} }}
    returnLineItems(first: {lines}) {{
      nodes {{
        __typename id quantity processedQuantity refundedQuantity returnReason
        returnReasonNote
        ... on ReturnLineItem {{
          restockingFee {{ amountSet {{ {_MONEY} }} }}
          fulfillmentLineItem {{ lineItem {{ id sku originalUnitPriceSet {{ {_MONEY} }} }} }}
        }}
      }}
      pageInfo {{ hasNextPage }}
    }}
    exchangeLineItems(first: {lines}) {{
      nodes {{ id quantity processedQuantity lineItems {{ id sku }} }}
      pageInfo {{ hasNextPage }}
    }}
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
      }}
      pageInfo {{ hasNextPage }}
    }}
    refunds(first: {refunds}) {{
      nodes {{
        id createdAt processedAt
        totalRefundedSet {{ {_MONEY} }}
        refundLineItems(first: {lines}) {{
          nodes {{
            quantity restockType restocked location {{ id name }}
            lineItem {{ id sku }}
            subtotalSet {{ {_MONEY} }} totalTaxSet {{ {_MONEY} }}
          }}
          pageInfo {{ hasNextPage }}
        }}
        refundShippingLines(first: 2) {{
          nodes {{ subtotalAmountSet {{ {_MONEY} }} taxAmountSet {{ {_MONEY} }} }}
        }}
        transactions(first: {transactions}) {{
          nodes {{ id kind status processedAt createdAt gateway amountSet {{ {_MONEY} }} }}
          pageInfo {{ hasNextPage }}
        }}
      }}
      pageInfo {{ hasNextPage }}
    }}
    """


def changed_orders(page_size: int, returns_per_order: int = 10) -> str:
    """A page of orders changed since `$since` (most recently changed last), each with the
    ids of its returns."""
    return f"""query ChangedOrders($after: String, $query: String) {{
  orders(first: {page_size}, after: $after, sortKey: UPDATED_AT, query: $query) {{
    nodes {{
      id updatedAt
      returns(first: {returns_per_order}) {{ nodes {{ id }} pageInfo {{ hasNextPage }} }}
    }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""


def returns_by_id(fields: str) -> str:
    """Returns by id, whole (`$ids`: at most as many as `returns_per_query` allows)."""
    return f"""query ReturnsById($ids: [ID!]!) {{
  nodes(ids: $ids) {{ __typename ... on Return {{ {fields} }} }}
}}"""


def order_returns(returns_per_page: int) -> str:
    """The ids of one order's returns, a page at a time (an order with more returns than
    `changed_orders` asks for)."""
    return f"""query OrderReturns($id: ID!, $after: String) {{
  order(id: $id) {{
    returns(first: {returns_per_page}, after: $after) {{
      nodes {{ id }} pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}"""
