"""Reports: SQL aggregates that return rows and never print (rendering is render/report.py).

Each report takes a `Runner` (the session plus the statements it ran, for `--explain`) and a
`Period`, and returns a `Result`: the JSON, the table rows, the working behind each headline
figure, and the series for a chart.
"""
