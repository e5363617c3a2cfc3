"""Studies built on experiments: paired comparisons, sensitivity analysis, calibration against published
facts, and the analytic test functions that validate the methods."""
