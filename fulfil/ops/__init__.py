"""The ops console's numbers: KPIs over a period, each computed from rows a person can query (docs/operations.md)."""
