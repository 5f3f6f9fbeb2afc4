"""Availability to promise for the channels: per location, per store for pickup, network-wide for delivery."""
