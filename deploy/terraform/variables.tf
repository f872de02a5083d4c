variable "region" {
  description = "The AWS region of the whole deployment."
  type        = string
  default     = "ap-northeast-1"
}

variable "environment" {
  description = "A name for this deployment (production, staging, …): it prefixes every resource."
  type        = string
  default     = "production"
}

variable "vpc_cidr" {
  description = "The VPC's range; deploy/k8s's COMPANION_TRUSTED_PROXIES names it."
  type        = string
  default     = "10.0.0.0/16"
}

variable "kubernetes_version" {
  description = "The EKS control plane's Kubernetes version (tests/deploy validates the manifests against it)."
  type        = string
  default     = "1.33"
}

variable "node_instance_types" {
  description = "Instance types of the EKS managed node group."
  type        = list(string)
  default     = ["m6i.large"]
}

variable "node_min_size" {
  type    = number
  default = 2
}

variable "node_max_size" {
  type    = number
  default = 6
}

variable "db_name" {
  description = "The PostgreSQL database of the event store and its read models."
  type        = string
  default     = "companion"
}

variable "db_username" {
  description = "The Aurora master user."
  type        = string
  default     = "companion"
}

variable "db_password" {
  description = "The Aurora master password (from a secret store or TF_VAR_db_password; URL-safe characters)."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.db_password) >= 16
    error_message = "db_password must be at least 16 characters."
  }
}

variable "db_instance_class" {
  type    = string
  default = "db.r6g.large"
}

variable "db_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery) Aurora keeps."
  type        = number
  default     = 14

  validation {
    condition     = var.db_backup_retention_days >= 7
    error_message = "Keep at least 7 days of backups."
  }
}

variable "redis_auth_token" {
  description = "The ElastiCache AUTH token (16–128 printable characters, from a secret store or TF_VAR_redis_auth_token)."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.redis_auth_token) >= 16 && length(var.redis_auth_token) <= 128
    error_message = "redis_auth_token must be 16 to 128 characters."
  }
}

variable "redis_node_type" {
  type    = string
  default = "cache.r6g.large"
}
