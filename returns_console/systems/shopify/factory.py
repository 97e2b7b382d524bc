"""A Shopify connector from a profile's validated options."""

from __future__ import annotations

from contextlib import suppress

from ...connectors.connection import Connection
from ...errors import UserError
from .connector import ShopifyConnector, ShopifySettings
from .mapping import MappingSettings
from .options import ShopifyOptions


def open_connector(c: Connection) -> ShopifyConnector:
    o: ShopifyOptions = c.options

    def webhook_secrets() -> list[str]:
        """The client secret, and the one before it while a rotation takes effect."""
        secrets = [c.secret("webhook_secret").get_secret_value()]
        with suppress(UserError):  # no rotation under way
            secrets.append(c.secret("webhook_secret_previous").get_secret_value())
        return secrets

    return ShopifyConnector(
        ShopifySettings(
            base_url=c.base_url, access_token=c.secret("access_token"),
            api_version=o.api_version, history_days=o.history_days,
            overlap_minutes=o.watermark_overlap_minutes,
            mapping=MappingSettings(restock_evidence=o.restock_evidence,
                                    disposition_final_types=tuple(
                                        o.disposition_final_types),
                                    location_key=o.location_key,
                                    condition_source=o.condition_source,
                                    authorised_at=o.authorised_at),
            webhook_secrets=webhook_secrets, bulk=o.bulk_full_read,
            bulk_min_saving_s=o.bulk_min_saving_s, bulk_max_wait_s=o.bulk_max_wait_s),
        log=c.log, transport=c.transport, retry=c.retry)
