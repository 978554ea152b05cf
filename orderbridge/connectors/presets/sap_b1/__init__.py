"""SAP Business One Service Layer: sales orders, deliveries and A/R invoices over OData, after a login."""
