# The service's cloud footprint: its container repository and the Kubernetes namespace it is
# deployed to. Apply with `terraform -chdir=terraform init && terraform -chdir=terraform apply`.
terraform {
  required_version = ">= 1.5"
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.30"
    }
  }
}

provider "kubernetes" {
  config_path    = var.kubeconfig
  config_context = var.kube_context
}

resource "kubernetes_namespace_v1" "service" {
  metadata {
    name = var.namespace
    labels = {
      "app.kubernetes.io/part-of"    = "${{ values.system | replace('system:default/', '') | replace('system:', '') }}"
      "backstage.io/owner"           = "${{ values.owner | replace('group:default/', '') | replace('group:', '') }}"
      "backstage.io/kubernetes-id"   = "${{ values.name }}"
    }
  }
}
