"""Shopify (GraphQL Admin API), a returns platform: being built (issue 14). Not in the
registry's BUILT list yet: its declaration, connector and simulator come with the slices
that make it complete (docs/shopify-netsuite-mapping.md). What is here is tested on its
own: the documents it will send (`queries.py`)."""
