"""What the local rig shares (the drill, the local cluster, the benchmarks and the tests):
running and stopping processes, the build cache, Debian packages, the machine's mounts,
paths, progress lines. It knows no Pulumi component (an import-linter contract)."""
