"""The local cluster harness: a single-node Kubernetes built from source on this
machine, the real Pulumi CLI and Kubernetes provider, and pgpitr deployed into it."""
