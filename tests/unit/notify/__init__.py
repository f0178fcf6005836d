"""Unit tests of notify/."""
