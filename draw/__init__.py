"""draw package."""
