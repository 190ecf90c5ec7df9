"""Webhooks: the guarded HTTP client that sends them and the worker that delivers the outbox."""
