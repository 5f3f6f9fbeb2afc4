"""Stock: levels per (location, GTIN), the availability rule, reservations, adjustments and the event log."""
