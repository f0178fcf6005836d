"""Recommendations: an organisation nominates an expert, who consents through a one-time link."""
