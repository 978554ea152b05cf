"""Oracle NetSuite: sales orders and their item fulfilments and invoices through SuiteQL, signed with
token-based authentication (OAuth 1.0a)."""
