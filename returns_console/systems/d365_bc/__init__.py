"""Dynamics 365 Business Central: an ERP with an OData v4 API (docs/vendors/
business-central.md). This module only declares the system; its connector, writer and
simulator are imported when used."""

from __future__ import annotations

from ...domain.codes import Action, Side, Stage
from ..spec import Capabilities, ReadShape, SystemSpec
from .options import BcOptions

SPEC = SystemSpec(
    id="d365_bc",
    name="Dynamics 365 Business Central",
    side=Side.ERP,
    summary="ERP; API v2.0 (OData v4), Entra client credentials",
    options=BcOptions,
    secrets=("client_secret",),
    capabilities=Capabilities(
        reads=(ReadShape.PULL,),
        incremental=True,
        keyed_reads=True,
        stages=frozenset({Stage.AUTHORISED, Stage.RECEIVED, Stage.CREDITED,
                          Stage.EXCHANGED}),
        # a credit note names the web order it answers for (EXTERNAL_REF_CONFLICT's plant)
        facts=frozenset({"erp_periods", "erp_items", "erp_customers",
                         "erp_credit_order_ref"}),
        writes=frozenset({Action.FIX_REFERENCE, Action.REQUEUE_POSTING}),
        creates=frozenset({"credit_note"}),
        concurrency=5,
        max_page_size=20000,
    ),
    page_option="page_size",
    connector=f"{__name__}.factory:open_connector",
    writer=f"{__name__}.writer:open_writer",
    simulator=f"{__name__}.simulator:build",
    own_names=frozenset({
        "externalDocumentNumber", "salesCreditMemos", "salesReturnOrders",
        "salesReturnOrderLines", "returnReceipts", "salesCreditMemoLines",
        "Microsoft.NAV.post", "customerNumber", "Pending Approval", "In Review",
        "Business Central: ", "northwind-sandbox",
    }),
)
