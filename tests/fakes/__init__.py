"""Hand-written fakes shared by the test suites (their names start with Fake)."""
