"""Persistence: tables, migrations, and repositories for observations, history, inbox, cursors,
discrepancies and the notification outbox. SQLite by default, PostgreSQL by URL."""
