"""Kubernetes side effects: status patches, Secrets (credentials, kubeconfig), Events."""
