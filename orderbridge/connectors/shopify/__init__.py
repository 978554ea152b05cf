"""Shopify orders: order webhooks now; its Admin API's order listing shares the record parser."""
