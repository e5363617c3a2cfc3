"""Docking: the model configured as the analytic models it borrows from, against their published results
(issue 15; so far the analytic side, :mod:`clustersim.studies.docking.analytic`)."""
