"""The canonical order model, order-id normalisation and status mapping."""
