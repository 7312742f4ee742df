"""nks-operator: NHN Kubernetes Service clusters and node groups as Kubernetes resources."""

__version__ = "0.1.0"
