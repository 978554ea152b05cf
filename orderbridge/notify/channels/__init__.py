"""Alert channels: e-mail and the chat services, one small class each, picked by `type:`."""
