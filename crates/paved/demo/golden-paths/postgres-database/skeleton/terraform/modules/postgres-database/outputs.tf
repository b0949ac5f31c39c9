output "database" {
  description = "Name of the database."
  value       = postgresql_database.app.name
}

output "secret_name" {
  description = "Name of the Kubernetes Secret holding the connection settings."
  value       = var.secret_name
}

output "database_url" {
  description = "Connection URL (sensitive)."
  value       = local.url
  sensitive   = true
}
