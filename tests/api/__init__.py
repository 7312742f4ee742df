"""Tests of the CRD models, the generated CRDs and reference, and the examples."""
