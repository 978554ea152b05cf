"""ERPNext (Frappe) sales orders with their delivery notes and sales invoices, over /api/resource."""
