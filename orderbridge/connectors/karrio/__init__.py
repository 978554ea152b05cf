"""Karrio's outbound webhooks (`tracker_updated`)."""
