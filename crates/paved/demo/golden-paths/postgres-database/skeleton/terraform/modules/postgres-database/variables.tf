variable "name" {
  description = "Name of the database and of its login role."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.name))
    error_message = "name must be a lower-case PostgreSQL identifier (letters, digits, _), at most 63 characters."
  }
}

variable "secret_name" {
  description = "Name of the Kubernetes Secret with the connection settings."
  type        = string
}

variable "owner" {
  description = "Owning team, as a label on the Secret."
  type        = string
}

variable "host" {
  description = "Host name of the PostgreSQL server, as services reach it."
  type        = string
}

variable "port" {
  description = "Port of the PostgreSQL server."
  type        = number
  default     = 5432
}

variable "sslmode" {
  description = "libpq sslmode services connect with."
  type        = string
  default     = "require"
  validation {
    condition     = contains(["disable", "require", "verify-ca", "verify-full"], var.sslmode)
    error_message = "sslmode must be disable, require, verify-ca or verify-full."
  }
}

variable "connection_limit" {
  description = "Most connections the role may hold."
  type        = number
  default     = 50
}

variable "namespaces" {
  description = "Kubernetes namespaces that get the connection Secret."
  type        = list(string)
}
