"""Odoo sale orders, their deliveries (stock.picking) and invoices (account.move), over JSON-2 (Odoo 19+)
or the JSON-RPC endpoint every version has."""
