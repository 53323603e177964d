"""c2000cov: coverage, interference and dead-zone analysis for the C2000 TETRA network."""

__version__ = "0.1.0"
