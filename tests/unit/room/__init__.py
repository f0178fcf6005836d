"""Unit tests of the evaluation room model."""
