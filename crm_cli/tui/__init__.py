"""The full-screen TUI (`crm tui`): the pipeline board and the day's reminders.

Only `crm tui` imports this package (Textual is heavy); `make_app` in app.py builds the app
for the command and for the tests alike.
"""
