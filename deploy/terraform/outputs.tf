# The settings the companion reads, built from what was created. Put them into
# the Kubernetes Secret companion-secrets (deploy/k8s/README.md shows how).

output "cluster_name" {
  value = module.eks.cluster_name
}

output "companion_database_url" {
  description = "COMPANION_DATABASE_URL: the Aurora writer, over TLS."
  value       = "postgresql://${var.db_username}:${urlencode(var.db_password)}@${aws_rds_cluster.main.endpoint}:${aws_rds_cluster.main.port}/${var.db_name}?sslmode=require"
  sensitive   = true
}

output "companion_read_database_url" {
  description = "COMPANION_READ_DATABASE_URL: the reader endpoint (the read replica), over TLS."
  value       = "postgresql://${var.db_username}:${urlencode(var.db_password)}@${aws_rds_cluster.main.reader_endpoint}:${aws_rds_cluster.main.port}/${var.db_name}?sslmode=require"
  sensitive   = true
}

output "companion_redis_url" {
  description = "COMPANION_REDIS_URL: the primary endpoint, TLS (rediss://) with the AUTH token."
  value       = "rediss://:${urlencode(var.redis_auth_token)}@${aws_elasticache_replication_group.main.primary_endpoint_address}:${aws_elasticache_replication_group.main.port}/0"
  sensitive   = true
}
