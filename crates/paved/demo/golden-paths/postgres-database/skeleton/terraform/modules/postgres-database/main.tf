# One application database on the platform's PostgreSQL server: a login role with a
# generated password, a database it owns, and the Kubernetes Secret that services mount.
terraform {
  required_version = ">= 1.5"
  required_providers {
    postgresql = {
      source  = "cyrilgdn/postgresql"
      version = "~> 1.22"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.30"
    }
  }
}

resource "random_password" "app" {
  length  = 32
  special = false
}

resource "postgresql_role" "app" {
  name             = var.name
  login            = true
  password         = random_password.app.result
  connection_limit = var.connection_limit
}

resource "postgresql_database" "app" {
  name              = var.name
  owner             = postgresql_role.app.name
  encoding          = "UTF8"
  lc_collate        = "C.UTF-8"
  lc_ctype          = "C.UTF-8"
  template          = "template0"
  allow_connections = true
}

# Nobody else may connect or create objects in the public schema.
resource "postgresql_grant" "revoke_public" {
  database    = postgresql_database.app.name
  role        = "public"
  object_type = "database"
  privileges  = []
}

locals {
  url = "postgres://${postgresql_role.app.name}:${random_password.app.result}@${var.host}:${var.port}/${postgresql_database.app.name}?sslmode=${var.sslmode}"
}

resource "kubernetes_secret_v1" "app" {
  for_each = toset(var.namespaces)
  metadata {
    name      = var.secret_name
    namespace = each.value
    labels = {
      "app.kubernetes.io/managed-by" = "terraform"
      "backstage.io/owner"           = var.owner
    }
  }
  data = {
    PGHOST       = var.host
    PGPORT       = tostring(var.port)
    PGDATABASE   = postgresql_database.app.name
    PGUSER       = postgresql_role.app.name
    PGPASSWORD   = random_password.app.result
    PGSSLMODE    = var.sslmode
    DATABASE_URL = local.url
  }
}
