variable "namespace" {
  description = "Kubernetes namespace of the service."
  type        = string
  default     = "${{ values.name }}"
}

variable "kubeconfig" {
  description = "Path of the kubeconfig file."
  type        = string
  default     = "~/.kube/config"
}

variable "kube_context" {
  description = "kubeconfig context to use (empty: the current one)."
  type        = string
  default     = null
}
