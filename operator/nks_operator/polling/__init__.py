"""Cheap observation of NKS, which has no watch: one list call per account per cycle."""
