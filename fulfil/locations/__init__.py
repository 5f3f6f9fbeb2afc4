"""Locations: warehouses and stores."""
