"""Telling people: discrepancy reports by e-mail, alerts to chat channels and escalation, all
delivered from the outbox."""
