"""R as the referee: korona's detectors compared with R on generated series (needs Rscript)."""
