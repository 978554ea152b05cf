"""Presets: connector types for named systems (Shopify, Salesforce, Zoho CRM, ...) that need only the
tenant's address and credentials. See `base` for the settings every preset derives from."""
