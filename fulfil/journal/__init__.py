"""The journal of business events: what happened to orders, shipments and a store's work, in commit order."""
