"""Customer returns: in any store or by post to a warehouse, each exactly once, stock landing where the items are."""
