"""regimes: legal regimes, procurement methods and their rules as versioned data."""
