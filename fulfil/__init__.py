"""Fulfil: ship-from-store fulfilment and RFID service."""

__version__ = "0.1.0"
