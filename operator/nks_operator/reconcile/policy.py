"""The admin's policy on what a namespace's resources may ask for (docs/security.md).

Pure: the reconciler and the admission webhook both ask here, so a refusal at `kubectl
apply` time and the operator's condition say the same thing.
"""

from __future__ import annotations

from nks_operator.api.cluster import ArgoCDRegistration
from nks_operator.settings import OperatorSettings

POLICY_NOTE = "(the admin's Argo CD policy: NKS_ARGOCD_ALLOWED_NAMESPACES, _PROJECTS, _LABEL_KEYS)"


def argocd_refusals(
    settings: OperatorSettings, namespace: str, registration: ArgoCDRegistration | None
) -> list[str]:
    """Why an Argo CD registration from `namespace` is not permitted; empty when it is.

    The admin decides who registers clusters, in which projects (a cluster without one is
    global: every project whose destinations allow it may deploy there) and with which
    labels (ApplicationSet cluster generators of every team select on them)."""
    if registration is None or not registration.enabled:
        return []
    if not settings.argocd_registration_allowed(namespace):
        return [f"namespace {namespace} may not register clusters in Argo CD {POLICY_NOTE}"]
    refusals = []
    project = registration.project
    if not settings.argocd_project_allowed(project, namespace):
        refusals.append(
            f"spec.argocd.project {project!r} is not allowed"
            if project
            else "spec.argocd.project is required (a cluster without one is global in Argo CD)"
        )
    keys = sorted(k for k in registration.labels if not settings.argocd_label_key_allowed(k))
    if keys:
        refusals.append(f"spec.argocd.labels keys not allowed: {', '.join(keys)}")
    if refusals:
        refusals[-1] += f" {POLICY_NOTE}"
    return refusals
