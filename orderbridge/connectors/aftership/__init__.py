"""AfterShip Tracking: signed `tracking_update` webhooks, and its tracking API as the safety net."""
