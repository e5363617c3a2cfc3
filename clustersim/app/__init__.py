"""The edges users touch: the ``clustersim`` command line and the browser page."""
