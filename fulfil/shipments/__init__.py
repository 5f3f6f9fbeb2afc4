"""Shipments: one order served from one location, moving through a fixed status machine."""
