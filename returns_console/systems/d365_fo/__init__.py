"""Dynamics 365 Finance & Operations (Supply Chain Management): an ERP read over its OData
data entities (docs/vendors/d365-fo.md, docs/d365fo-mapping.md). This module only declares
the system; its connector and simulator are imported when used."""

from __future__ import annotations

from ...domain.codes import Action, Side, Stage
from ..spec import Capabilities, ReadShape, SystemSpec
from .options import MAX_PAGE, FoOptions

SPEC = SystemSpec(
    id="d365_fo",
    name="Dynamics 365 Finance & Operations",
    side=Side.ERP,
    summary="ERP; OData data entities, Entra client credentials",
    options=FoOptions,
    secrets=("client_secret",),
    capabilities=Capabilities(
        reads=(ReadShape.PULL,),
        # return orders and their lines carry no change stamp (§5.2): a refresh reads the
        # open ones and what closed since (U19, option return_sync_mode)
        incremental=True,
        # a refresh checks again only the return orders it touched (keyed.py)
        keyed_reads=True,
        stages=frozenset({Stage.AUTHORISED, Stage.RECEIVED, Stage.INSPECTED,
                          Stage.CREDITED, Stage.EXCHANGED}),
        # a credit note (an invoice journal) names its customer, not the web order
        facts=frozenset({"erp_periods", "erp_items", "erp_customers",
                         "erp_credit_customer_only"}),
        # the link PATCHed on the return order (If-Match), a missing return order created
        # (header, then lines); credits and receipts are posted in F&O (§7.2)
        writes=frozenset({Action.FIX_REFERENCE, Action.REQUEUE_POSTING}),
        creates=frozenset({"return_order"}),
        concurrency=4,
        max_page_size=MAX_PAGE,
    ),
    page_option="page_size",
    # a profile that reads return orders whole each time (`full`) refreshes by reading all
    keyed_option=("return_sync_mode", "open_plus_recent"),
    connector=f"{__name__}.factory:open_connector",
    writer=f"{__name__}.writer:open_writer",
    simulator=f"{__name__}.simulator:build",
    own_names=frozenset({
        "ReturnOrderHeadersV2", "ReturnOrderLinesV2", "SalesInvoiceHeadersV2",
        "CustomersOrderReference", "CustomerRequisitionNumber", "ReturnInventoryLotId",
        "dataAreaId", "ReturnDispositionCode", "ReturnStatusLine",
    }),
)
