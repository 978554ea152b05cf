"""The push side of connectors: a system that sends events (webhooks) instead of, or beside, being
polled. A receiver verifies a request, says how to acknowledge it, and parses a stored body into
SourceRecords; the daemon's endpoint stores each verified body before it acknowledges it."""
