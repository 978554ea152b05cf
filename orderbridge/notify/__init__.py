"""Telling people: discrepancy reports by e-mail, alerts to chat channels, escalation, delivered from the outbox."""
