"""nks-operator's development tools, installed apart from the product (devtools/).

- `nks_devtools.simulator`: a stateful NKS API on loopback (`nks-operator simulator`).
- `nks_devtools.localkube`: a throwaway etcd + kube-apiserver + kube-controller-manager.
- `nks_devtools.demo`: simulator + operator + examples end to end (`nks-operator demo`).

Nothing in `nks_operator` imports this package; the product's CLI only loads a tool's
module when that tool's command runs.
"""
