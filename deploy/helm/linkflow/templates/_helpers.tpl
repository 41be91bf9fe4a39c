{{- define "linkflow.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "linkflow.labels" -}}
app.kubernetes.io/name: linkflow
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* selector labels of one role: (dict "root" $ "role" "api") */}}
{{- define "linkflow.selector" -}}
app.kubernetes.io/name: linkflow
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "linkflow.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "linkflow.serviceAccount" -}}
{{ .Values.serviceAccount.name | default (include "linkflow.fullname" .) }}
{{- end -}}

{{/* The secret-bearing settings, from the existing Secret (never for the code-runner). */}}
{{- define "linkflow.secretEnv" -}}
{{- $secret := .Values.secrets.existingSecret -}}
- name: LINKFLOW_DATABASE_URL
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: {{ .Values.secrets.keys.databaseUrl }}}}
- name: LINKFLOW_REDIS_URL
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: {{ .Values.secrets.keys.redisUrl }}}}
- name: LINKFLOW_SECURITY_SECRET_KEY
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: {{ .Values.secrets.keys.secretKey }}}}
- name: LINKFLOW_SECURITY_VAULT_KEYS
  valueFrom: {secretKeyRef: {name: {{ $secret }}, key: {{ .Values.secrets.keys.vaultKeys }}}}
{{- with .Values.storage.s3 }}
{{- if and (eq $.Values.storage.backend "s3") .existingSecret }}
- name: LINKFLOW_STORAGE_S3_ACCESS_KEY_ID
  valueFrom: {secretKeyRef: {name: {{ .existingSecret }}, key: {{ .accessKeyIdKey }}}}
- name: LINKFLOW_STORAGE_S3_SECRET_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ .existingSecret }}, key: {{ .secretAccessKeyKey }}}}
{{- end }}
{{- end }}
{{- end -}}

{{- define "linkflow.podSecurity" -}}
automountServiceAccountToken: false
enableServiceLinks: false
serviceAccountName: {{ include "linkflow.serviceAccount" . }}
securityContext: {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* checkov exceptions shared by every workload; each is justified in the chart README ("Security scan"). */}}
{{- define "linkflow.checkovSkips" -}}
checkov.io/skip1: CKV_K8S_43=the image is pinned by tag per release; set image.tag to a digest to pin it further
checkov.io/skip2: CKV_K8S_15=IfNotPresent is right for an immutable release tag; set image.pullPolicy to Always if tags are reused
{{- end -}}
