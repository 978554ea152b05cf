"""The staff web pages (discrepancy board, order, stages, systems) and the customers' status page."""
