"""Command groups of the `fulfil` CLI."""
