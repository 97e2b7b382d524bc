"""Khaos Control Cloud: an ERP whose public interface calls us (the channel protocol,
docs/vendors/khaos-control.md §4): `listen` serves the channel's endpoints and keeps what
Khaos pushes and what it was served; a check reads Khaos's side from that
(docs/khaos-mapping.md). This module only declares the system."""

from __future__ import annotations

from ...domain.codes import Action, Side, Stage
from ..spec import Capabilities, ReadShape, SystemSpec
from .options import KhaosOptions

SPEC = SystemSpec(
    id="khaos",
    name="Khaos Control",
    side=Side.ERP,
    summary=("ERP; Khaos Control Cloud's channel protocol: it pulls returns from `listen` "
             "and pushes stock items, stock levels and order statuses (HTTP Basic)"),
    options=KhaosOptions,
    listen_secrets=("username", "password"),
    capabilities=Capabilities(
        reads=(ReadShape.EVENTS,),
        # taken from the feed; stock back (a level rise); nothing of credit notes,
        # inspection, customers, periods or units (docs/khaos-mapping.md)
        stages=frozenset({Stage.AUTHORISED, Stage.RECEIVED}),
        # receipts are told apart by when stock rose (erp_inferred_receipts)
        facts=frozenset({"erp_items", "erp_inferred_receipts", "erp_without_credits",
                         "erp_without_customers",
                         "erp_without_periods", "erp_without_locations",
                         "erp_without_dispositions", "erp_without_units",
                         "erp_without_order_state", "erp_without_reasons",
                         "erp_without_exchanges", "erp_without_own_records"}),
        # a re-queue offers the return again on the feed (deferred: Khaos takes it up at
        # its next pull); no call changes an imported return's reference (§7.3)
        writes=frozenset({Action.REQUEUE_POSTING}),
        creates=frozenset({"return_order"}),
        # a returned item's MappingType (KC §4): a SKU mapping may name another way
        item_ways=("StockCode", "OtherRef", "Barcode", "WebCode"),
        concurrency=1,
    ),
    connector=f"{__name__}.factory:open_connector",
    writer=f"{__name__}.writer:open_writer",
    simulator=f"{__name__}.simulator:build",
    own_names=frozenset({
        "CReturnDownload", "StockStatusUpload", "StockUpload", "OrderStatusUpload",
        "OrderDownload", "EndpointConfig", "Sirion-Continuation", "SpecificIDs",
        "AssociatedRef", "SourceReturnReference", "ReturnedItems", "StockCode", "URN",
    }),
)
