"""Order tracking for customers: what they may know of their order (status, pickup store and hours, parcels), by
pickup code or tracking token, without a bearer token (docs/tracking.md)."""
