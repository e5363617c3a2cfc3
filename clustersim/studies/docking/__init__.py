"""Docking: the model configured as the analytic models it borrows from, against their published results
(ODD "Docking"). :mod:`~clustersim.studies.docking.analytic` computes the analytic predictions from the papers'
formulas, :mod:`~clustersim.studies.docking.measure` measures the simulated ones, and
:mod:`~clustersim.studies.docking.cases` puts them side by side: ``run_case("stag_hunt", {"group_size": 10})``.
"""

from clustersim.studies.docking.cases import CASES, DockingError, DockingResult, run_case

__all__ = ["CASES", "DockingError", "DockingResult", "run_case"]
