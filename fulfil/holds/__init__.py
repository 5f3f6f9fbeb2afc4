"""Checkout holds: a quoted option's units reserved for a few minutes, consumed by the order or released once."""
