"""Unit tests: the booking core through its ports, with in-memory fakes."""
