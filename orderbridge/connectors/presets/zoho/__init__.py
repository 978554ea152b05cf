"""Zoho CRM: the Sales_Orders module (`type: zoho`)."""
