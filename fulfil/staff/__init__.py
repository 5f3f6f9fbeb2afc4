"""Store staff and the store app's sign-in: a PIN per staff member, exchanged for a short-lived picker session."""
