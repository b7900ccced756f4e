"""The tests' name for :mod:`harness.pgcluster` (the benchmarks run it too)."""

from harness.pgcluster import ENV_URL, PostgresCluster, PostgresServer, pg_bindir

__all__ = ["ENV_URL", "PostgresCluster", "PostgresServer", "pg_bindir"]
