"""Tests of notify/ against loopback fakes (no app, no database)."""
