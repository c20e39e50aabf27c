"""Load through the Kubernetes API server's service proxy, for a laptop with only a
kubeconfig: no Ingress, LoadBalancer or port-forward needed.

The API server sends each request to one of the Service's ready endpoints itself, so this
path tests the endpoints' readiness but not kube-proxy, the CNI or a mesh: give --url for
those (or run the check in the cluster with `helm test`).
"""

from __future__ import annotations

import time

from urllib3.exceptions import HTTPError, ProtocolError, ReadTimeoutError

from probe_demo.check.cluster import Cluster
from probe_demo.client.attempt import Attempt, version_of
from probe_demo.protocol import POD_HEADER

SERVICE_PORT = "http"  # the chart's Service names its HTTP port so


class ServiceProxy:
    def __init__(self, cluster: Cluster, service: str, path: str) -> None:
        self.cluster = cluster
        self.path = "/" + path.lstrip("/")
        self.resource = (f"/api/v1/namespaces/{cluster.namespace}/services/"
                         f"{service}:{SERVICE_PORT}/proxy{self.path}")
        self.url = f"{cluster.api_client.configuration.host}{self.resource}"

    def fetch(self, attempt: Attempt, timeout: float) -> Attempt:
        api = self.cluster.api_client
        headers: dict[str, str] = {}
        begin = time.perf_counter()
        try:
            api.update_params_for_auth(headers, [], ["BearerToken"])
            response = api.rest_client.pool_manager.request(
                "GET", self.url, headers=headers, timeout=timeout, preload_content=True,
                retries=False)
            attempt.status = response.status
            attempt.pod = response.headers.get(POD_HEADER)
            attempt.version = version_of(response.data) if response.status < 400 else None
        except ReadTimeoutError:
            attempt.error = "timeout"
        except ProtocolError:
            attempt.error = "connection reset"
        except HTTPError as err:
            attempt.error = type(err).__name__
        finally:
            attempt.ttlb = time.perf_counter() - begin
        return attempt
