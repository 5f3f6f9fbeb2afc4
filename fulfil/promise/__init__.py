"""Delivery and pickup promises for a basket, and checkout holds that keep them (docs/channels.md)."""
