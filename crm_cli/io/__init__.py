"""Format codecs: CSV, vCard, iCalendar and JSON. Bytes in, source records out (and back).

A codec knows no database: it turns a file into `SourceRecord`s (records.py) with a per-record
problem where one could not be read, and turns plain records into files. Matching, checking
against the data and writing are the services' work (services/importing.py).
"""
