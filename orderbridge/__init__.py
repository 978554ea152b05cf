"""orderbridge: reconciles what ERP, WMS, CRM, spreadsheets and carriers say about each order."""

__version__ = "0.1.0"
