"""The benchmark of the agent booking service (``make bench``; see ``docs/performance.md``).

``bench.run`` orchestrates everything; the other modules are its parts: the workload
(``workload``, ``create.lua``), databases (``seed``), servers (``processes``, ``ceiling_app``),
load (``loadgen``), the raw SQLite ceiling (``sqlite_ceiling``) and notifications (``notify``).
"""
