"""expertpool package."""
