"""Results folders on disk: a run's, a comparison's and a sensitivity study's tables, figures and provenance,
each written atomically."""
