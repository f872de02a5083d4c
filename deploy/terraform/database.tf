resource "aws_kms_key" "database" {
  description         = "${local.name} Aurora storage"
  enable_key_rotation = true
}

# The event store and its read models. The writer takes every append; the reader
# instance is the read replica (reader_endpoint).
resource "aws_rds_cluster" "main" {
  cluster_identifier = local.name
  engine             = "aurora-postgresql"
  engine_version     = "16.4"
  database_name      = var.db_name
  master_username    = var.db_username
  master_password    = var.db_password

  db_subnet_group_name   = module.vpc.database_subnet_group_name
  vpc_security_group_ids = [aws_security_group.database.id]

  storage_encrypted = true
  kms_key_id        = aws_kms_key.database.arn

  backup_retention_period   = var.db_backup_retention_days
  preferred_backup_window   = "18:00-20:00"
  copy_tags_to_snapshot     = true
  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.name}-final"

  iam_database_authentication_enabled = false
}

resource "aws_rds_cluster_instance" "writer" {
  identifier           = "${local.name}-writer"
  cluster_identifier   = aws_rds_cluster.main.id
  engine               = aws_rds_cluster.main.engine
  engine_version       = aws_rds_cluster.main.engine_version
  instance_class       = var.db_instance_class
  db_subnet_group_name = aws_rds_cluster.main.db_subnet_group_name
  promotion_tier       = 0

  performance_insights_enabled    = true
  performance_insights_kms_key_id = aws_kms_key.database.arn
}

resource "aws_rds_cluster_instance" "reader" {
  identifier           = "${local.name}-reader"
  cluster_identifier   = aws_rds_cluster.main.id
  engine               = aws_rds_cluster.main.engine
  engine_version       = aws_rds_cluster.main.engine_version
  instance_class       = var.db_instance_class
  db_subnet_group_name = aws_rds_cluster.main.db_subnet_group_name
  promotion_tier       = 1

  performance_insights_enabled    = true
  performance_insights_kms_key_id = aws_kms_key.database.arn

  depends_on = [aws_rds_cluster_instance.writer]
}
