"""Shippo `track_updated` webhooks."""
