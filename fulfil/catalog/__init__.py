"""Catalog: products by GTIN-14 with their store layout position."""
