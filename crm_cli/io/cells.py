"""Spreadsheet-safe CSV cells: the one rule export writes and import reads back.

A spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a
formula (CSV injection). OWASP's remedy is to start such a cell with a single quote, which
spreadsheets show as text. To keep export -> import lossless, a cell that already starts with a
quote gets one more, and import removes exactly one quote where export added it.
"""

from __future__ import annotations

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """The cell as a spreadsheet will show it as text, never run it."""
    if cell.startswith(TRIGGERS) or cell.startswith("'"):
        return "'" + cell
    return cell


def unneutralise(cell: str) -> str:
    """The cell `neutralise` was given: one leading quote removed where it guards a formula
    character or another quote; any other cell unchanged."""
    if cell.startswith("'") and cell[1:2] and (cell[1:].startswith(TRIGGERS) or cell[1] == "'"):
        return cell[1:]
    return cell
