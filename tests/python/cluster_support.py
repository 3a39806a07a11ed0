"""Helpers for test_tiered_cluster.py: a throwaway multi-node Redis Cluster on loopback, and a
worker process driving a TieredCache over it.

``RedisClusterProcesses`` starts ``3 primaries + 3 replicas`` of Debian's ``redis-server``
(``cluster-enabled yes``, no persistence, each in its own temporary directory, on free
loopback ports), creates the cluster with ``redis-cli --cluster create ... --cluster-replicas 1
--cluster-yes``, waits until every node reports ``cluster_state:ok``, and can SIGKILL and
restart a node, move slots with ``redis-cli --cluster reshard`` and stop everything.

``python cluster_support.py worker HOST:PORT NAMESPACE`` runs a TieredCache over the cluster
in its own process and answers one JSON command per stdin line (``ClusterWorker`` is the test
side of that).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from typing import Any

from support.tiers import serve
from tiered_support import LOOPBACK, RedisServer, Worker, free_port, wait_until


def find_redis_cli() -> str | None:
    """The redis-cli executable, or None."""
    found = shutil.which("redis-cli")
    if found:
        return found
    for candidate in ("/usr/bin/redis-cli", "/usr/local/bin/redis-cli"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


class ClusterNode(RedisServer):
    """One cluster-enabled redis-server; its cluster bus port is chosen free too."""

    def __init__(self, executable: str, node_timeout_ms: int) -> None:
        super().__init__(executable, cluster=False)
        self.bus_port = 0
        self.node_timeout_ms = node_timeout_ms

    def _command(self) -> list[str]:
        return [
            *super()._command(),
            "--cluster-enabled", "yes",
            "--cluster-port", str(self.bus_port),
            "--cluster-config-file", str(self.dir / "nodes.conf"),
            "--cluster-node-timeout", str(self.node_timeout_ms),
            # A replica of a killed primary may take over however stale it is (tests only).
            "--cluster-replica-validity-factor", "0",
            "--cluster-require-full-coverage", "no",
            "--cluster-allow-reads-when-down", "no",
        ]  # fmt: skip

    def start(self, same_port: bool = False, timeout: float = 15.0) -> None:
        if not same_port:
            self.bus_port = free_port()
        super().start(same_port=same_port, timeout=timeout)

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"


class RedisClusterProcesses:
    """``primaries`` primaries with ``replicas`` replica each, on loopback; ``stop()`` ends all.

    ``node_timeout_ms`` is ``cluster-node-timeout``: low, so that a killed primary is replaced
    by its replica within a few seconds.
    """

    def __init__(
        self,
        server_exe: str,
        cli_exe: str,
        primaries: int = 3,
        replicas: int = 1,
        node_timeout_ms: int = 1000,
    ) -> None:
        self.server_exe = server_exe
        self.cli = cli_exe
        self.nodes = [
            ClusterNode(server_exe, node_timeout_ms) for _ in range(primaries * (1 + replicas))
        ]
        self.n_primaries = primaries
        self.replicas = replicas

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        """Starts every node, creates the cluster and waits until it is ok everywhere."""
        try:
            for node in self.nodes:
                node.start()
            addresses = [node.address for node in self.nodes]
            cmd = [self.cli, "--cluster", "create", *addresses]
            if self.replicas:
                cmd += ["--cluster-replicas", str(self.replicas)]
            cmd.append("--cluster-yes")
            done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
            if done.returncode != 0:
                raise RuntimeError(
                    "redis-cli --cluster create failed: "
                    + (done.stdout + done.stderr).decode(errors="replace")[-2000:]
                )
            self.wait_ok(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stops every node (SIGTERM to all at once, SIGKILL after 10 s) and removes their
        directories."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGCONT)
                node.process.terminate()
        for node in self.nodes:
            node.stop()

    # ---- state -------------------------------------------------------------------------------

    @property
    def startup_address(self) -> tuple[str, int]:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                return LOOPBACK, node.port
        raise RuntimeError("no node is running")

    def command(self, node: ClusterNode, *args: Any, timeout: float = 2.0) -> Any:
        """One command to one node (a plain connection, no redirections)."""
        import redis

        client: Any = redis.Redis(
            host=LOOPBACK, port=node.port, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        try:
            return client.execute_command(*args)
        finally:
            client.close()

    def _info(self, node: ClusterNode) -> str:
        try:
            info = self.command(node, "CLUSTER", "INFO", timeout=0.5)
        except Exception:
            return ""
        return info.decode() if isinstance(info, bytes) else str(info)

    def running(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.process is not None and n.process.poll() is None]

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every running node says cluster_state:ok and agrees on the slot owners."""

        def ok() -> bool:
            if not all("cluster_state:ok" in self._info(n) for n in self.running()):
                return False
            owners = self.slot_owners()
            return all(self._slot_map_of(n) == owners for n in self.running())

        wait_until(ok, timeout, interval=0.05)

    def _slot_map_of(self, node: ClusterNode) -> dict[int, int]:
        """{first slot of a range: port of its primary}, as ``node`` sees it."""
        slots = self.command(node, "CLUSTER", "SLOTS")
        return {int(r[0]): int(r[2][1]) for r in slots}

    def slot_owners(self) -> dict[int, int]:
        """{first slot of a range: port of its primary}, as the first running node sees it."""
        return self._slot_map_of(self.running()[0])

    def primaries(self) -> list[ClusterNode]:
        """The running nodes that currently serve slots as primaries."""
        ports = set(self.slot_owners().values())
        return [n for n in self.running() if n.port in ports]

    def node_of_port(self, port: int) -> ClusterNode:
        return next(n for n in self.nodes if n.port == port)

    def primary_of_slot(self, slot: int) -> ClusterNode:
        for row in self.command(self.running()[0], "CLUSTER", "SLOTS"):
            if int(row[0]) <= slot <= int(row[1]):
                return self.node_of_port(int(row[2][1]))
        raise RuntimeError(f"slot {slot} is not served")

    def node_id(self, node: ClusterNode) -> str:
        raw = self.command(node, "CLUSTER", "MYID")
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    def replica_of(self, primary: ClusterNode) -> ClusterNode:
        pid = self.node_id(primary)
        for node in self.running():
            if node is primary:
                continue
            role = self.command(node, "ROLE")
            if role[0] in (b"slave", "slave") and int(role[2]) == primary.port:
                return node
        raise RuntimeError(f"no replica of {primary.address} ({pid})")

    def key_counts(self, pattern: bytes) -> dict[int, int]:
        """{primary port: number of keys matching pattern} (SCAN on every primary)."""
        import redis

        counts: dict[int, int] = {}
        for node in self.primaries():
            client: Any = redis.Redis(host=LOOPBACK, port=node.port, socket_timeout=5)
            try:
                counts[node.port] = sum(1 for _ in client.scan_iter(match=pattern, count=1000))
            finally:
                client.close()
        return counts

    # ---- faults and operations -----------------------------------------------------------------

    def kill(self, node: ClusterNode) -> None:
        """SIGKILL: a crash (connections reset, no handover)."""
        node.kill()

    def restart(self, node: ClusterNode, timeout: float = 30.0) -> None:
        """Restarts a killed node on its ports with its nodes.conf: it rejoins the cluster
        (a replaced primary comes back as a replica of its successor)."""
        node.start(same_port=True)
        self.wait_ok(timeout)

    def reshard(self, source: ClusterNode, target: ClusterNode, slots: int) -> str:
        """Moves ``slots`` slots (with their keys) from source to target with
        ``redis-cli --cluster reshard``; returns its output."""
        cmd = [
            self.cli, "--cluster", "reshard", source.address,
            "--cluster-from", self.node_id(source),
            "--cluster-to", self.node_id(target),
            "--cluster-slots", str(slots),
            "--cluster-yes",
            "--cluster-pipeline", "100",
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, timeout=120, check=False)
        out = (done.stdout + done.stderr).decode(errors="replace")
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster reshard failed: {out[-2000:]}")
        return out


def cluster_client(host: str, port: int, timeout: float = 1.0) -> Any:
    """A redis-py RedisCluster client with a short timeout and no retries."""
    from redis.backoff import NoBackoff
    from redis.cluster import RedisCluster
    from redis.retry import Retry

    return RedisCluster(
        host=host,
        port=port,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


# ---- worker process -----------------------------------------------------------------------------


class ClusterWorker(Worker):
    """A TieredCache over the cluster in another process, driven over stdin/stdout."""

    def __init__(self, address: tuple[str, int], namespace: str) -> None:
        self._spawn([sys.executable, __file__, "worker", f"{address[0]}:{address[1]}", namespace])


def _worker_main(address: str, namespace: str) -> None:
    from cuckoocache import SmartCache
    from cuckoocache.tiered import TieredCache

    host, _, port = address.rpartition(":")
    client = cluster_client(host, int(port))
    # A 1 s timeout: the default 50 ms can trip on a loaded 2-core machine.
    tier = TieredCache(
        SmartCache(10_000), client, namespace=namespace, serializer="json", timeout=1.0
    )

    def ops(op: str, args: list[Any]) -> Any:
        if op == "get_many":
            return [tier.get(k) for k in args[0]]
        if op == "put_many":
            for k, v in args[0]:
                tier.put(k, v)
            return None
        if op == "delete_many":
            return [tier.remove(k) for k in args[0]]
        if op == "local_many":
            # The local tier's copies (None where absent), Redis not contacted.
            return [tier.local.get(k) for k in args[0]]
        raise ValueError(f"unknown op {op!r}")

    serve(tier, ops)
    tier.close()
    client.close()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "worker":
        _worker_main(sys.argv[2], sys.argv[3])
    else:
        print(__doc__)
        sys.exit(2)
