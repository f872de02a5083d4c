resource "aws_kms_key" "redis" {
  description         = "${local.name} ElastiCache storage"
  enable_key_rotation = true
}

# Fan-out of WebSocket frames, throttles, rate limits and the socket cap.
resource "aws_elasticache_replication_group" "main" {
  replication_group_id = local.name
  description          = "companion: fan-out, throttles and limits"
  engine               = "redis"
  engine_version       = "7.1"
  parameter_group_name = "default.redis7"
  node_type            = var.redis_node_type
  port                 = 6379

  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true

  subnet_group_name  = module.vpc.elasticache_subnet_group_name
  security_group_ids = [aws_security_group.redis.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.redis.arn
  transit_encryption_enabled = true
  auth_token                 = var.redis_auth_token

  snapshot_retention_limit = 3
  apply_immediately        = false
}
