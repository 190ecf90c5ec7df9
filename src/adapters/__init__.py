"""Implementations of the core's ports: in-memory, SQLAlchemy (SQLite, PostgreSQL), clocks."""
