"""The tests' Ray cluster talks on loopback only (tests/ray_cluster.py): its address, every
node's raylet and name, and where code placed on each node finds itself (what a run's
actor reports as `cpu on <ip> ...`) are 127.0.0.x, so no test traffic leaves the machine."""

from __future__ import annotations

import ipaddress
from typing import Any

from unlearnscope.worker.ray_actor import RunActor


def host_of(address: str) -> str:
    """The host of "host", "host:port" or "[v6]:port"."""
    if address.startswith("["):
        return address[1 : address.index("]")]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(host_of(address)).is_loopback
    except ValueError:  # a name, not an address
        return False


def test_host_of_and_loopback_tell_addresses_apart() -> None:
    assert is_loopback("127.0.0.1:6379") and is_loopback("127.0.0.1") and is_loopback("[::1]:80")
    assert not is_loopback("192.0.2.2:6379") and not is_loopback("10.0.0.7")
    assert not is_loopback("localhost")  # a name: Ray reports addresses


def test_every_address_the_test_cluster_reports_is_loopback(ray_cluster: Any) -> None:
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    ray_cluster.wait_idle()
    reported = ray_cluster.addresses()
    alive = [n for n in ray.nodes() if n["Alive"]]
    assert len(alive) == 2 and len(reported) == 1 + 2 * len(alive)
    assert all(is_loopback(a) for a in reported), reported
    assert is_loopback(ray.util.get_node_ip_address())  # this process, the driver

    # What code placed on each node finds: the address a run's actor reports.
    whereabouts = ray.remote(num_cpus=1)(RunActor._whereabouts)
    found = ray.get(
        [
            whereabouts.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False)
            ).remote()
            for node_id in (ray_cluster.head_node_id, ray_cluster.worker_node_id)
        ],
        timeout=120,
    )
    assert {node for node, _ in found} == {ray_cluster.head_node_id, ray_cluster.worker_node_id}
    assert all(is_loopback(ip) for _, ip in found), found
