"""Medusa v2 orders, over its admin API (/admin/orders)."""
