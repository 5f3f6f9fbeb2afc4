"""Routing in the service: real-time on intake, batch re-optimisation, re-routing, explanations, export."""
