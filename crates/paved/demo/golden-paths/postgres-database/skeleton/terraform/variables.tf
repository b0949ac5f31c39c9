variable "admin_host" {
  description = "Host Terraform reaches the PostgreSQL ${{ values.postgresVersion }} server on (password in PGPASSWORD)."
  type        = string
}

variable "admin_username" {
  description = "Role Terraform connects as; needs CREATEDB and CREATEROLE."
  type        = string
  default     = "platform_admin"
}

variable "host" {
  description = "Host name services reach the server on."
  type        = string
}

variable "port" {
  description = "Port of the server."
  type        = number
  default     = 5432
}

variable "sslmode" {
  description = "libpq sslmode."
  type        = string
  default     = "require"
}

variable "namespaces" {
  description = "Kubernetes namespaces of the services that use the database."
  type        = list(string)
}

variable "kubeconfig" {
  description = "Path of the kubeconfig file."
  type        = string
  default     = "~/.kube/config"
}
