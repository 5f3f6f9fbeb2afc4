"""Orders: intake (idempotent by the client id), reading an order with its shipments."""
