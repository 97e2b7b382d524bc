"""Deliveries pushed to us (webhooks, channel callbacks), verified and kept in the inbox.

For systems that cannot be polled, or that tell us sooner than a poll would: the receiver
checks each delivery with the system's own WebhookSpec and stores it once however often the
sender retries; the system's connector later reads the stored events as a PlatformBatch.
"""
