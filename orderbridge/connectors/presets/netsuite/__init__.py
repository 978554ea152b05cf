"""Oracle NetSuite: sales orders, item fulfilments and invoices through SuiteQL, with token-based auth."""
