"""Khaos Control profile options: the channel a Khaos Control Cloud administrator sets up
(its formats, the account returns go to; its Username and Password are secrets) and the
facts its public docs leave open, each a documented default (docs/vendors/khaos-control.md
§11, docs/khaos-mapping.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..spec import SystemOptions, WordList


class KhaosOptions(SystemOptions):
    format: Literal["JSON", "XML"] = Field("JSON", description=(
        "The Format the endpoint configuration asks Khaos to use for every object"))
    frequency_minutes: int = Field(15, ge=1, le=1440, description=(
        "How often Khaos pulls the returns feed (the config's Frequency; the sample's 15)"))
    urn: str = Field(min_length=1, max_length=50, pattern=r"^\S+$", description=(
        "The Khaos customer account (URN) returns are imported against: it must exist in "
        "Khaos (the platform names customers by email, which Khaos cannot be asked about)"))
    country: str = Field("GB", pattern=r"^[A-Z]{2}$", description=(
        "The Country (ISO code) of the invoice address an offered return carries: the "
        "platform's returns name no address, and Khaos requires a Country on one"))
    sku_mapping: Literal["StockCode", "OtherRef", "Barcode", "WebCode", "Automatic"] = Field(
        "StockCode", description=(
            "How Khaos finds the item of a returned SKU (ItemMapping): the items Khaos "
            "pushes are checked against returns only for StockCode"))
    feed_batch: int = Field(100, ge=1, le=1000, description=(
        "The most returns one pull of the feed serves (the rest come on the next pull)"))
    reoffer_limit: int = Field(3, ge=1, le=100, description=(
        "How many times a return is offered again after answers that carried it were lost "
        "(Khaos's next pull echoed an older continuation); then it is held and said, since "
        "Khaos may have imported it after all"))
    feed_days: int = Field(60, ge=1, le=3650, description=(
        "A return is offered only while its approval is at most this many days old"))
    backfill_days: int = Field(0, ge=0, le=3650, description=(
        "Returns approved this many days before Khaos first pulled the feed are offered too "
        "(0: only those approved since: returns handled before the channel existed are not "
        "imported into Khaos a second time)"))
    process_return: Literal["never", "when_received"] = Field("never", description=(
        "Whether an offered return asks Khaos to process it on import (ProcessReturn, which "
        "moves stock): never, or only once the platform has the goods back"))
    receipt_evidence: Literal["stock_rise", "none"] = Field("stock_rise", description=(
        "How goods coming back are seen: a rise of the item's Available level pushed after "
        "the return was taken (a purchase receipt rises too: undocumented which), or not at "
        "all (the received stage is then not shown)"))
    write_off_reasons: WordList = Field((), description=(
        "Khaos return reason ids whose processing type brings no stock back (Stock Missing / "
        "write off): their lines expect no rise"))
    exchange_evidence: Literal["none", "order_status"] = Field("none", description=(
        "How a replacement is seen: not at all (Khaos sends statuses only for orders the "
        "channel downloaded), or an order status whose AssociatedRef is the return's"))
    site_ids: WordList = Field((), description=(
        "The stock sites (SiteID) returns go back to (empty: any site)"))
    exports_dir: str = Field("", description=(
        "A folder Khaos's credit note exports (CSV) are dropped into: credit notes become "
        "checked (missing, duplicate, without a refund); empty: credits are not checked"))
    exports_max_age_hours: int = Field(26, ge=1, le=24 * 90, description=(
        "An export older than this is said (the credited stage may be behind)"))
    currency: str = Field("GBP", pattern=r"^[A-Z]{3}$", description=(
        "The currency of an exported credit whose row names none"))
    credit_number_columns: WordList = Field(
        ("Credit Note Code", "Credit Code", "Invoice Code", "INVOICE_CODE"), description=(
            "Headers that may hold the credit note's number (the first present is read)"))
    credit_link_columns: WordList = Field(
        ("Associated Ref", "Ass. Ref", "AssociatedRef", "ASSOCIATED_REF"), description=(
            "Headers that may hold the return's AssociatedRef (the platform's reference)"))
    credit_date_columns: WordList = Field(
        ("Issue Date", "Date Issued", "Credit Date", "Date", "INVOICE_DATE"), description=(
            "Headers that may hold the date the credit note was issued"))
    credit_gross_columns: WordList = Field(
        ("Gross", "Gross Total", "Total", "Credit Total"), description=(
            "Headers that may hold the credit's gross amount"))
    credit_tax_columns: WordList = Field(("VAT", "Tax", "VAT Total"), description=(
        "Headers that may hold the credit's tax"))
    reason_ids: WordList = Field((), description=(
        "The return reason ids set up in Khaos (System Data > Return Reasons): when given, a "
        "platform reason that maps to none is REASON_UNMAPPED before it is offered"))
    default_reason_id: str = Field("", max_length=20, description=(
        "The ReturnReason ID offered for a platform reason the `reason` mapping table does "
        "not name (empty: the reason is offered as the platform says it)"))

__all__ = ["KhaosOptions"]
