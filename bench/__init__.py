"""The nks-operator benchmark: a real kube-apiserver, the NKS simulator and the operator,
each in its own process, measured from the outside.

Run `python -m bench --help` (or `bench/run.py`); BENCHMARKS.md has the figures and the
method. Nothing here asserts a timing: the benchmark prints a table and writes JSON.
"""
