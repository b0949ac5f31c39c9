# ${{ values.name }}: ${{ values.description }}
# terraform -chdir=terraform init && terraform -chdir=terraform apply
terraform {
  required_version = ">= 1.5"
}

provider "postgresql" {
  host      = var.admin_host
  port      = var.port
  username  = var.admin_username
  sslmode   = var.sslmode
  superuser = false
}

provider "kubernetes" {
  config_path = var.kubeconfig
}

module "database" {
  source           = "./modules/postgres-database"
  name             = "${{ values.name | replace('-', '_') }}"
  secret_name      = "${{ values.name }}-postgres"
  owner            = "${{ values.owner | replace('group:default/', '') | replace('group:', '') }}"
  host             = var.host
  port             = var.port
  sslmode          = var.sslmode
  connection_limit = ${{ values.connectionLimit }}
  namespaces       = var.namespaces
}

output "secret_name" {
  value = module.database.secret_name
}
