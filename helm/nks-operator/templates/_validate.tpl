{{/*
Checks values.schema.json cannot express; each fails the render with the reason and the fix.
*/}}
{{- define "nks-operator.validate" -}}
{{- if and .Values.metrics.enabled (eq (int .Values.health.port) (int .Values.metrics.port)) }}
{{- fail (printf "health.port and metrics.port are both %v: give them different ports" .Values.health.port) }}
{{- end }}
{{- if and .Values.webhook.enabled (or (eq (int .Values.webhook.port) (int .Values.health.port)) (and .Values.metrics.enabled (eq (int .Values.webhook.port) (int .Values.metrics.port)))) }}
{{- fail (printf "webhook.port %v is already used by the health or metrics port: give it its own" .Values.webhook.port) }}
{{- end }}
{{- if and .Values.webhook.enabled (ge (int .Values.webhook.shutdownDelaySeconds) (int .Values.terminationGracePeriodSeconds)) }}
{{- fail (printf "webhook.shutdownDelaySeconds %v must be less than terminationGracePeriodSeconds %v: the operator needs time to stop after the delay" .Values.webhook.shutdownDelaySeconds .Values.terminationGracePeriodSeconds) }}
{{- end }}
{{- if and (not .Values.serviceAccount.create) (not .Values.serviceAccount.name) }}
{{- fail "serviceAccount.create is false: set serviceAccount.name to the existing ServiceAccount the operator runs as" }}
{{- end }}
{{- end }}
