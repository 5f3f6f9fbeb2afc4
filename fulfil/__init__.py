"""fulfil package."""
