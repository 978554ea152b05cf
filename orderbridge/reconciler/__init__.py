"""Reconciliation: rules over what the systems say about an order, the pass, and discrepancy lifecycle."""
