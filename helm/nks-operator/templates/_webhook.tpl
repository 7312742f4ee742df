{{/*
Names and operator arguments of the validating admission webhook (docs/webhook.md).
*/}}
{{- define "nks-operator.webhookServiceName" -}}
{{- printf "%s-webhook" (include "nks-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The configuration's name. kopf names each webhook `<handler id>.<this name>`, and
Kubernetes wants webhook names of three or more dot-separated parts: hence the suffix.
*/}}
{{- define "nks-operator.webhookConfigName" -}}
{{- printf "%s.nks.nhncloud.com" (include "nks-operator.clusterObjectName" .) }}
{{- end }}

{{/*
"true" when the operator makes its own certificate and manages the configurations.
*/}}
{{- define "nks-operator.webhookSelfSigned" -}}
{{- if and .Values.webhook.enabled (not .Values.webhook.certManager.enabled) }}true{{ end }}
{{- end }}

{{- define "nks-operator.webhookCertDir" -}}
/etc/nks-operator/webhook
{{- end }}

{{- define "nks-operator.webhookArgs" -}}
- --webhook-port={{ .Values.webhook.port }}
{{- if .Values.webhook.certManager.enabled }}
- --webhook-cert-dir={{ include "nks-operator.webhookCertDir" . }}
{{- else }}
- --webhook-service={{ .Release.Namespace }}/{{ include "nks-operator.webhookServiceName" . }}:443
- --webhook-manage-config={{ include "nks-operator.webhookConfigName" . }}
- --webhook-failure-policy={{ .Values.webhook.failurePolicy }}
{{- end }}
{{- end }}
