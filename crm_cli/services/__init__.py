"""The use cases: the one API that `cli/` and `tui/` call.

Functions take a `Session` (and the `Context` when they need settings or the current user) and
return plain dicts, ready for any renderer. They never print and never import typer, rich or
textual.
"""
