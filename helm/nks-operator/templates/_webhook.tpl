{{/*
Names and operator arguments of the validating admission webhook (docs/webhook.md).
*/}}
{{- define "nks-operator.webhookServiceName" -}}
{{- printf "%s-webhook" (include "nks-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The configuration's name; each webhook is `<handler id>.<this name>` (the names kopf gives
its own), and Kubernetes wants webhook names of three or more dot-separated parts: hence
the suffix.
*/}}
{{- define "nks-operator.webhookConfigName" -}}
{{- printf "%s.nks.nhncloud.com" (include "nks-operator.clusterObjectName" .) }}
{{- end }}

{{/*
"true" when the operator makes its own certificate and writes its CA bundle into the
chart's configuration.
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
{{- /* The Service's DNS names go into the self-signed certificate. */}}
- --webhook-service={{ .Release.Namespace }}/{{ include "nks-operator.webhookServiceName" . }}:443
- --webhook-inject-ca={{ include "nks-operator.webhookConfigName" . }}
{{- end }}
{{- end }}
