"""A NetSuite connector from a profile's validated options."""

from __future__ import annotations

from ...connectors.connection import Connection
from .connector import NetSuiteConnector, NetSuiteSettings, TbaCredentials
from .mapping import MappingSettings
from .options import NetSuiteOptions


def _folded(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(v.casefold() for v in values)


def open_connector(c: Connection) -> NetSuiteConnector:
    o: NetSuiteOptions = c.options
    tba = TbaCredentials(*(c.secret(n) for n in TbaCredentials._fields)) \
        if o.auth == "tba" else None
    return NetSuiteConnector(
        NetSuiteSettings(
            base_url=c.base_url, account_id=o.account_id, client_id=o.client_id,
            certificate_id=o.certificate_id, tba=tba,
            private_key=c.secret("private_key") if tba is None else "",
            token_url=o.token_url, scope=o.scope, link_field=o.link_field,
            history_days=o.history_days, page_size=o.page_size,
            bound_parameters=o.bound_parameters,
            overlap_s=o.incremental_overlap_s,
            max_concurrency=o.max_concurrency, reason_list=o.reason_list,
            location_key=o.location_key,
            receipt_fields=(o.receipt_receive_field, o.receipt_restock_field),
            mapping=MappingSettings(
                inspection_evidence=o.inspection_evidence,
                advanced_receiving=o.advanced_receiving,
                fee_items=_folded(o.fee_items), shipping_items=_folded(o.shipping_items),
                discount_item_types=_folded(o.discount_item_types),
                ignored_item_types=_folded(o.ignored_item_types),
                local_currency=o.local_currency)),
        log=c.log, transport=c.transport, retry=c.retry, pacer=c.pacer)
