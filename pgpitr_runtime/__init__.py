"""Helpers that run inside the pgpitr image (stdlib only): recovery targets, backup
choice and retention planning, shared with the Pulumi program and the local drill."""
