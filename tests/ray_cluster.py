"""A real Ray cluster of two nodes on this machine (ray.cluster_utils.Cluster), for tests.

Small on purpose (a 2-core machine): one CPU per node, 100 MB object stores, no
dashboard. Runs reserve one CPU each, so two run at once (one per node) and a third
waits, queued, until one ends. `kill_worker_node` removes the second node abruptly (its
processes are killed, as when a machine is lost) and `add_worker_node` puts one back.

Loopback only: the head and every added node take the node IP 127.0.0.1 (Ray's default
is the machine's interface address), so the cluster's address, its raylets and object
stores, and where runs say they are (`cpu on 127.0.0.1 ...`) are loopback, and no test
traffic leaves the machine. `addresses()` lists what the cluster reports, for the test.
"""

from __future__ import annotations

import time
from typing import Any

MB = 1024 * 1024
LOOPBACK = "127.0.0.1"
NODE_ARGS: dict[str, Any] = {
    "num_cpus": 1,
    "object_store_memory": 100 * MB,
    "node_ip_address": LOOPBACK,
}


def loopback_address(address: str) -> str:
    """"host:port" with the host 127.0.0.1: where the cluster's GCS listens."""
    return f"{LOOPBACK}:{address.rsplit(':', 1)[1]}"


class LocalRayCluster:
    def __init__(self) -> None:
        self.cluster: Any = None
        self.worker: Any = None

    def start(self) -> LocalRayCluster:
        import ray
        from ray.cluster_utils import Cluster

        if ray.is_initialized():
            ray.shutdown()
        self.cluster = Cluster(
            initialize_head=True,
            head_node_args={**NODE_ARGS, "include_dashboard": False},
        )
        self.add_worker_node()
        # Ray names the head's GCS by the machine's interface address even when every node
        # listens on loopback (cluster_utils.Cluster.address): the driver connects, and says
        # it is, on 127.0.0.1.
        ray.init(
            address=self.address,
            namespace="unlearnscope",
            log_to_driver=False,
            _node_ip_address=LOOPBACK,
        )
        return self

    @property
    def address(self) -> str:
        return loopback_address(str(self.cluster.address))

    @property
    def head_node_id(self) -> str:
        return str(self.cluster.head_node.node_id)

    @property
    def worker_node_id(self) -> str:
        return str(self.worker.node_id)

    def add_worker_node(self) -> None:
        self.worker = self.cluster.add_node(**NODE_ARGS)
        self.cluster.wait_for_nodes()

    def kill_worker_node(self) -> None:
        self.cluster.remove_node(self.worker, allow_graceful=False)
        self.worker = None

    def addresses(self) -> list[str]:
        """Every address the cluster reports: its own (GCS), and each live node's
        raylet, object manager and object store."""
        import ray

        found = [self.address]
        for node in ray.nodes():
            if node.get("Alive"):
                found += [node["NodeManagerAddress"], node["NodeName"]]
        return found

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Until every CPU is free again (the actors of earlier tests are gone)."""
        import ray

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ray.available_resources().get("CPU", 0) >= ray.cluster_resources().get("CPU", 0):
                return
            time.sleep(0.2)

    def stop(self) -> None:
        import ray

        try:
            ray.shutdown()
        finally:
            self.cluster.shutdown()
