"""The local PITR drill: the image's scripts against real PostgreSQL, WAL-G and S3."""
