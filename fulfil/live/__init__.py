"""Live updates: a server-sent-events stream of stock and parcel-verification changes per location."""
