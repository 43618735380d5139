"""The executive report: assemble (context), draw (charts), lay out (components),
execute the notebook (execute), render HTML/PDF (render), and run it all safely (run)."""
