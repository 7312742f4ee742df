"""Tests against the real kube-apiserver started by nks_devtools.localkube."""
