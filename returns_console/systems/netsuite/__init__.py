"""NetSuite: an ERP read over SuiteTalk REST and SuiteQL (docs/vendors/netsuite.md,
docs/shopify-netsuite-mapping.md). This module only declares the system; its connector
and simulator are imported when used."""

from __future__ import annotations

from ...domain.codes import Action, Side, Stage
from ..spec import Capabilities, ReadShape, SystemSpec
from .options import MAX_PAGE, NetSuiteOptions

#: The secret of the default way in (auth m2m): the certificate's private key.
_M2M = ("private_key",)

SPEC = SystemSpec(
    id="netsuite",
    name="NetSuite",
    side=Side.ERP,
    summary=("ERP; SuiteTalk REST and SuiteQL, OAuth 2.0 client credentials (a JWT signed "
             "PS256 or ES256) or Token-Based Authentication"),
    options=NetSuiteOptions,
    secrets=_M2M,
    auth_option="auth",
    auth_secrets={"m2m": _M2M,
                  "tba": ("consumer_key", "consumer_secret", "token_id", "token_secret")},
    capabilities=Capabilities(
        reads=(ReadShape.PULL,),
        incremental=True,
        stages=frozenset({Stage.AUTHORISED, Stage.RECEIVED, Stage.INSPECTED,
                          Stage.CREDITED, Stage.EXCHANGED}),
        # a credit note names the web order it answers for (EXTERNAL_REF_CONFLICT's plant)
        facts=frozenset({"erp_periods", "erp_items", "erp_customers",
                         "erp_credit_order_ref"}),
        # a link PATCHed under our own lastModifiedDate check; a credit memo and an item
        # receipt re-queued as transforms of the return authorization
        writes=frozenset({Action.FIX_REFERENCE, Action.REQUEUE_POSTING}),
        creates=frozenset({"credit_note", "receipt"}),
        # the account's concurrency limit is shared by every integration (§7.4)
        concurrency=2,
        max_page_size=MAX_PAGE,
    ),
    page_option="page_size",
    connector=f"{__name__}.factory:open_connector",
    writer=f"{__name__}.writer:open_writer",
    simulator=f"{__name__}.simulator:build",
    own_names=frozenset({
        "RtnAuth", "ItemRcpt", "CustCred", "CashRfnd", "otherrefnum", "transactionline",
        "suiteql", "o:errorDetails", "Pending Approval",
    }),
)
