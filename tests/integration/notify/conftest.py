"""Fixtures for notify/ loopback tests."""

from tests.fakes.twilio_api import fake_twilio_api

__all__ = ["fake_twilio_api"]
