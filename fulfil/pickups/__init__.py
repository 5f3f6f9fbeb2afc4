"""Click and collect: pickup codes, ship-to-store arrivals, ready for pickup, handover, curbside check-in, expiry."""
