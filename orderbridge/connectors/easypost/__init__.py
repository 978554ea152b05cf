"""EasyPost: `tracker.updated` Event webhooks, and GET /v2/trackers/<id> as the safety net."""
