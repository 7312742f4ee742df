{{/*
Names and labels.
*/}}
{{- define "nks-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nks-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "nks-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nks-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nks-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "nks-operator.labels" -}}
helm.sh/chart: {{ include "nks-operator.chart" . }}
{{ include "nks-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: nks-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "nks-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "nks-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "nks-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Name of the default-credentials Secret ("" when there is none).
*/}}
{{- define "nks-operator.credentialsSecret" -}}
{{- if .Values.credentials.existingSecret }}
{{- .Values.credentials.existingSecret }}
{{- else if .Values.credentials.create }}
{{- printf "%s-credentials" (include "nks-operator.fullname" .) }}
{{- end }}
{{- end }}

{{/*
Watch scope: "cluster" (all namespaces, or a list with globs: cluster-wide RBAC) or
"namespaced" (a list of plain names: a Role in each).
kopf treats a name with `*`, `?`, `!` (exclusion) or `,` (a list) as a pattern.
*/}}
{{- define "nks-operator.hasGlobs" -}}
{{- $found := false }}
{{- range .Values.watchNamespaces }}
{{- if regexMatch "[*?!,]" . }}{{ $found = true }}{{ end }}
{{- end }}
{{- if $found }}true{{ end }}
{{- end }}

{{- define "nks-operator.scope" -}}
{{- if or (not .Values.watchNamespaces) (include "nks-operator.hasGlobs" .) }}cluster{{ else }}namespaced{{ end }}
{{- end }}

{{/*
The rules the operator needs in every namespace it watches (a Role's in namespaced scope,
part of the ClusterRole in cluster scope). README "RBAC" explains each rule.
*/}}
{{- define "nks-operator.namespacedRules" -}}
# Watched (list, watch); metadata patched for the finalizer and the create intent; an
# NKSCluster read (get) when the watch has not shown it: a node group's cluster that is
# gone, or not there yet.
- apiGroups: ["nks.nhncloud.com"]
  resources: ["nksclusters"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["nks.nhncloud.com"]
  resources: ["nksnodegroups"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["nks.nhncloud.com"]
  resources: ["nksclusters/status", "nksnodegroups/status"]
  verbs: ["patch"]
# The kubeconfig Secret's ownerReference blocks its NKSCluster's deletion
# (blockOwnerDeletion): where OwnerReferencesPermissionEnforcement runs (OpenShift), only
# who may update the owner's finalizers may set that. Node groups own nothing.
- apiGroups: ["nks.nhncloud.com"]
  resources: ["nksclusters/finalizers"]
  verbs: ["update"]
# Secrets are read by name only (credentials, the kubeconfig Secret), never listed or
# watched; the kubeconfig Secret is written; a credentials Secret in use carries the
# operator's finalizer (patch). Never delete: only Argo CD cluster Secrets are deleted.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "update", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end }}

{{/*
Cluster-scoped whatever the watch scope: kopf's CRD watch, and the operator's ownership
records (one per NKS cluster or node group, shared by every release and namespace).
*/}}
{{- define "nks-operator.clusterRules" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
- apiGroups: ["nks.nhncloud.com"]
  resources: ["nksownerships"]
  verbs: ["get", "list", "create", "update", "delete"]
{{- end }}

{{/*
Argo CD cluster Secrets in argocd.namespace: written, and deleted with their NKSCluster.
*/}}
{{- define "nks-operator.argocdSecretRules" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "update", "delete"]
{{- end }}

{{/*
"true" when a namespace list needs a Role in argocd.namespace: some namespace may register
(argocd.allowedNamespaces), or the Argo CD namespace is watched (whose Role cannot delete).
Cluster-wide scopes cover it in the ClusterRole.
*/}}
{{- define "nks-operator.argocdRole" -}}
{{- if and (eq (include "nks-operator.scope" .) "namespaced") (or .Values.argocd.allowedNamespaces (has .Values.argocd.namespace .Values.watchNamespaces)) }}true{{ end }}
{{- end }}

{{/*
The Secret in the release namespace that holds the operator's signing key (made by the
operator at first start).
*/}}
{{- define "nks-operator.signingKeySecret" -}}
{{- printf "%s-signing-key" (include "nks-operator.fullname" .) }}
{{- end }}

{{/*
Name of cluster-scoped objects: the release namespace is part of it, so the same release
name in two namespaces (one operator per namespace list) never collides.
*/}}
{{- define "nks-operator.clusterObjectName" -}}
{{- printf "%s-%s" (include "nks-operator.fullname" .) .Release.Namespace }}
{{- end }}
