"""Tables, the engine and session factory, migrations and backups.

Nothing here creates an engine at import time: `open_store()` does, once per process.
"""
