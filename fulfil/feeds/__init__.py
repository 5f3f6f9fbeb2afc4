"""The local inventory feed: per store and product, what may be advertised (quantity, availability bucket, pickup
method and SLA) in the shape of Google's local inventory feed, in full or as the changes since a cursor
(docs/feeds.md)."""
