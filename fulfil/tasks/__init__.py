"""A store's task queue: picks, put backs, cycle counts, ship-to-store parcels to receive, customers at the curb."""
