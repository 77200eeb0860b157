{{/*
The chart name, overridable with nameOverride.
*/}}
{{- define "bedrock-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: fullnameOverride, else the release name (plus the chart
name unless the release name already contains it). Truncated to 63 characters (DNS labels).
*/}}
{{- define "bedrock-operator.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "bedrock-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels every object carries.
*/}}
{{- define "bedrock-operator.labels" -}}
helm.sh/chart: {{ include "bedrock-operator.chart" . }}
{{ include "bedrock-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: bedrock-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Labels that select the operator's pods (never change them: a Deployment's selector is
immutable).
*/}}
{{- define "bedrock-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bedrock-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The ServiceAccount the operator runs as.
*/}}
{{- define "bedrock-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bedrock-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference; the tag defaults to the chart's appVersion.
*/}}
{{- define "bedrock-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The leader-election Lease's name.
*/}}
{{- define "bedrock-operator.leaseName" -}}
{{- default (include "bedrock-operator.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
What the operator does with its resources, events and spec.export ConfigMaps: exactly the rules
it needs, no more (no Secrets, no CRDs, no core/v1 events). Shared by the ClusterRole and the per-namespace Roles.
*/}}
{{- define "bedrock-operator.rules" -}}
- apiGroups: ["bedrock-operator.dev"]
  resources: ["bedrockcustommodels", "bedrockcustommodeldeployments", "bedrockprovisionedthroughputs", "bedrockimportedmodels"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["bedrock-operator.dev"]
  resources: ["bedrockcustommodels/status", "bedrockcustommodeldeployments/status", "bedrockprovisionedthroughputs/status", "bedrockimportedmodels/status"]
  verbs: ["patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
# spec.export of deployments and throughputs: the ConfigMap of that name only, read to tell
# whose it is, applied (create and patch: server-side apply), deleted when export is removed.
# No list or watch: the operator never reads other ConfigMaps.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create", "patch", "delete"]
{{- end }}
