"""Authentication: hashed bearer tokens, roles (ops, picker, device) and location scopes."""
