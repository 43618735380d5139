"""The executive report, drawn from the report model: charts (house style), components and narrative
(escaped HTML that displays itself), kernel (what the notebook calls), execute (papermill),
render (nbconvert + WeasyPrint), outputs (file names, metrics.json, health.csv), run (publish)."""
