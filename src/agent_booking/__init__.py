"""The agent booking service, installed under one import name of its own.

The folders the layout names (``src/booking_core``, ``src/adapters``, ``src/entrypoints``)
are this package's ``core``, ``adapters`` and ``entrypoints`` (links in ``src/agent_booking``),
so the service installs beside PyPI's ``adapters`` and ``entrypoints`` without shadowing them.
"""
