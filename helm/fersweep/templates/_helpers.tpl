{{/* Chart name, truncated to 63 characters (DNS-1123 label). */}}
{{- define "fersweep.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name, truncated to 63 characters. The release name alone when it already
contains the chart name.
*/}}
{{- define "fersweep.fullname" -}}
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

{{/* A component's name: <fullname>-<component>, within 63 characters. */}}
{{- define "fersweep.componentName" -}}
{{- $full := include "fersweep.fullname" .root }}
{{- printf "%s-%s" ($full | trunc (int (sub 62 (len .component)))) .component | trimSuffix "-" }}
{{- end }}

{{- define "fersweep.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "fersweep.labels" -}}
helm.sh/chart: {{ include "fersweep.chart" . }}
{{ include "fersweep.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fersweep
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "fersweep.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fersweep.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: dict "root" $ "component" "coordinator". */}}
{{- define "fersweep.componentLabels" -}}
{{ include "fersweep.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "fersweep.componentSelectorLabels" -}}
{{ include "fersweep.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "fersweep.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "fersweep.trainerImage" -}}
{{- printf "%s:%s" .Values.trainer.image.repository (default (printf "%s-gpu" .Chart.AppVersion) .Values.trainer.image.tag) }}
{{- end }}

{{- define "fersweep.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "fersweep.componentName" (dict "root" . "component" "coordinator")) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "fersweep.trainerServiceAccountName" -}}
{{- if .Values.trainer.serviceAccount.create }}
{{- default (include "fersweep.componentName" (dict "root" . "component" "trainer")) .Values.trainer.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.trainer.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The ConfigMap with NATS/S3 settings every fersweep pod (trainers included) takes by reference. */}}
{{- define "fersweep.configMapName" -}}
{{- include "fersweep.componentName" (dict "root" . "component" "trainer") }}
{{- end }}

{{- define "fersweep.s3SecretName" -}}
{{- if .Values.store.existingSecret }}
{{- tpl .Values.store.existingSecret . }}
{{- else }}
{{- include "fersweep.componentName" (dict "root" . "component" "s3") }}
{{- end }}
{{- end }}

{{- define "fersweep.s3SecretEnabled" -}}
{{- if or .Values.store.existingSecret .Values.store.accessKeyId }}true{{ end }}
{{- end }}

{{- define "fersweep.apiSecretName" -}}
{{- default (include "fersweep.componentName" (dict "root" . "component" "api")) .Values.auth.existingSecret }}
{{- end }}

{{- define "fersweep.apiSecretKey" -}}
{{- if .Values.auth.existingSecret }}{{ .Values.auth.existingSecretKey }}{{ else }}tokens{{ end }}
{{- end }}

{{- define "fersweep.natsUrl" -}}
{{- tpl (required "natsUrl is required: fersweep on Kubernetes streams its events over NATS JetStream (helm/fersweep-stack bundles one)" .Values.natsUrl) . }}
{{- end }}

{{- define "fersweep.storeUrl" -}}
{{- tpl (required "store.url is required: s3://bucket/prefix (helm/fersweep-stack bundles MinIO)" .Values.store.url) . }}
{{- end }}

{{- define "fersweep.storeEndpoint" -}}
{{- tpl .Values.store.endpoint . }}
{{- end }}

{{/* Container env shared by the coordinator and the evaluator: settings and S3 credentials by reference. */}}
{{- define "fersweep.envFrom" -}}
- configMapRef:
    name: {{ include "fersweep.configMapName" . }}
{{- if include "fersweep.s3SecretEnabled" . }}
- secretRef:
    name: {{ include "fersweep.s3SecretName" . }}
{{- end }}
{{- end }}

{{/* The trainer values as a sweep spec fragment (resources + queueName). */}}
{{- define "fersweep.sweepDefaults" -}}
resources:
  gpu: {{ .Values.trainer.gpu }}
  cpu: {{ .Values.trainer.cpu | quote }}
  memory: {{ .Values.trainer.memory | quote }}
  nodeSelector: {{ .Values.trainer.nodeSelector | toJson }}
  tolerations: {{ .Values.trainer.tolerations | toJson }}
  {{- with .Values.trainer.priorityClassName }}
  priorityClassName: {{ . | quote }}
  {{- end }}
{{- if and .Values.trainer.kueue.enabled }}
queueName: {{ required "trainer.kueue.queueName is required with trainer.kueue.enabled" .Values.trainer.kueue.queueName | quote }}
{{- end }}
{{- end }}

{{/* imagePullSecrets as comma-separated names (FERSWEEP_TRAINER_IMAGE_PULL_SECRETS). */}}
{{- define "fersweep.pullSecretNames" -}}
{{- $names := list }}
{{- range .Values.imagePullSecrets }}{{ $names = append $names .name }}{{ end }}
{{- join "," $names }}
{{- end }}

{{/* The Secret with NATS_USER / NATS_PASSWORD of one component (natsAuth): (dict "root" . "component" "trainer"). */}}
{{- define "fersweep.natsSecretName" -}}
{{- $existing := index .root.Values.natsAuth.existingSecrets .component }}
{{- if $existing }}{{ tpl $existing .root }}{{ else }}{{ include "fersweep.componentName" (dict "root" .root "component" (printf "nats-%s" .component)) }}{{ end }}
{{- end }}

{{- /* The tenants document (FERSWEEP_TENANTS_FILE): the cluster's default policy and the tenants. */}}
{{- define "fersweep.tenantsSecretName" -}}
{{- default (include "fersweep.componentName" (dict "root" . "component" "tenants")) .Values.tenancy.existingSecret }}
{{- end }}

{{- define "fersweep.tenantsSecretKey" -}}
{{- if .Values.tenancy.existingSecret }}{{ .Values.tenancy.existingSecretKey }}{{ else }}tenants.json{{ end }}
{{- end }}

{{- define "fersweep.tenantsDocument" -}}
{{- dict "apiVersion" "fersweep/v1" "kind" "Tenants" "defaults" (dict "policy" .Values.policy) "tenants" .Values.tenancy.tenants | toJson }}
{{- end }}

{{- /* The env variable, volume mount and volume that give a service the tenants document. */}}
{{- define "fersweep.tenantsEnv" -}}
- name: FERSWEEP_TENANTS_FILE
  value: /etc/fersweep/tenants/tenants.json
{{- end }}

{{- define "fersweep.tenantsMount" -}}
- name: tenants
  mountPath: /etc/fersweep/tenants
  readOnly: true
{{- end }}

{{- define "fersweep.tenantsVolume" -}}
- name: tenants
  secret:
    secretName: {{ include "fersweep.tenantsSecretName" . }}
    defaultMode: 0400
    items:
      - key: {{ include "fersweep.tenantsSecretKey" . }}
        path: tenants.json
{{- end }}
