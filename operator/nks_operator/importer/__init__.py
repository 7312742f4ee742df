"""`nks-operator import`: existing NKS clusters -> NKSCluster / NKSNodeGroup resources.

The flow is one way: `credentials` (Secret or environment) -> `inventory` (read-only NKS
calls) -> `naming` (Kubernetes names) -> `mapping` (NKS answers -> specs; `fitting` leaves
out, with a note, what a model refuses) -> `verify` (the operator's own checks and plans
on the result: would it write?) -> `build` (manifests and what to tell the user) ->
`output` (YAML / JSON) or `apply` (server-side apply). The promise: applying what it
emits and letting the operator reconcile makes no NKS write.
"""
