"""Thin Radicale adapters (auth, rights, storage) over calcard's core services."""
