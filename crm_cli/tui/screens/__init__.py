"""The TUI's screens: the board, the reminders and the key help."""
