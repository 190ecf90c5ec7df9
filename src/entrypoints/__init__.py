"""Entry points: configuration, the Litestar HTTP app and the ``booking`` CLI.

This is the only layer that knows about frameworks, processes and environment variables; it
builds the adapters and hands them to the core's use cases (the composition root).
"""

__all__: list[str] = []
