"""Command output: Rich tables on a terminal, plain text in a pipe, JSON and CSV for scripts.

stdout carries data only; messages go to stderr.
"""
