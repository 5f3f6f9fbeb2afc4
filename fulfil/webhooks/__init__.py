"""Webhooks: customer notifications through an outbox written with each change, delivered by a dispatcher signing
every request per Standard Webhooks (docs/webhooks.md)."""
