"""The Kubernetes calls `probe-demo check` makes, through the Kubernetes Python client.

Every refusal by the API server becomes one CheckError line naming the verb, the resource
and the namespace, e.g. "no permission to create pods/eviction in namespace demo".
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from probe_demo.check.errors import CheckError

T = TypeVar("T")
# The annotation `kubectl rollout restart` sets: a rollout this check starts looks the same.
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
INCLUSTER_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def _message(err: ApiException) -> str:
    try:
        return json.loads(err.body or "{}").get("message") or err.reason or ""
    except ValueError:
        return (err.body or err.reason or "").strip()[:300]


class Cluster:
    """One namespace of the cluster in the kubeconfig's context, or the pod's own cluster."""

    def __init__(self, namespace: str | None = None, context: str | None = None) -> None:
        try:
            if context is None and _in_cluster():
                config.load_incluster_config()
                with open(INCLUSTER_NAMESPACE, encoding="utf-8") as handle:
                    default_namespace = handle.read().strip()
            else:
                config.load_kube_config(context=context)
                _, active = config.list_kube_config_contexts()
                if context:
                    active = next(c for c in config.list_kube_config_contexts()[0]
                                  if c["name"] == context)
                default_namespace = active["context"].get("namespace", "default")
        except (config.ConfigException, OSError, StopIteration, yaml.YAMLError, TypeError,
                ValueError, AttributeError, KeyError) as err:
            where = f"--context={context}" if context else "the kubeconfig"
            raise CheckError(f"cannot load {where} ({_kubeconfig_path()}): "
                             f"{_first_line(err)}") from None
        self.namespace = namespace or default_namespace
        configuration = client.Configuration.get_default_copy()
        # One try per call: an unreachable server is said at once, not after retries.
        configuration.retries = False
        self.api_client = client.ApiClient(configuration)
        self.server = configuration.host
        self.source = ("the pod's service account" if context is None and _in_cluster()
                       else f"context {context or active['name']} of {_kubeconfig_path()}")
        self.core = client.CoreV1Api(self.api_client)
        self.apps = client.AppsV1Api(self.api_client)
        self.discovery = client.DiscoveryV1Api(self.api_client)
        self.autoscaling = client.AutoscalingV2Api(self.api_client)
        self.authorization = client.AuthorizationV1Api(self.api_client)

    def call(self, verb: str, resource: str, action: Callable[[], T],
             cluster_scoped: bool = False) -> T:
        """Run one API call; a refusal becomes a CheckError naming verb and resource, and
        so does an API server that cannot be reached or does not answer in JSON."""
        try:
            return action()
        except ApiException as err:
            raise self.refusal(verb, resource, err, cluster_scoped) from None
        except (OSError, HTTPError) as err:  # no route, refused, TLS, retries exhausted
            raise CheckError(f"cannot reach the Kubernetes API at {self.server} "
                             f"({self.source}) to {verb} {resource}: "
                             f"{_unreachable(err)}") from None
        except (ValueError, TypeError, AttributeError) as err:  # not a Kubernetes object
            raise CheckError(f"the Kubernetes API at {self.server} ({self.source}) gave an "
                             f"answer that is not a Kubernetes object to {verb} {resource}: "
                             f"{_first_line(err)}") from None

    def refusal(self, verb: str, resource: str, err: ApiException,
                cluster_scoped: bool = False) -> CheckError:
        where = "cluster-wide" if cluster_scoped else f"in namespace {self.namespace}"
        if err.status in (401, 403):
            return CheckError(f"no permission to {verb} {resource} {where}: {_message(err)}")
        if err.status == 404:
            return CheckError(f"{resource} not found {where}")
        return CheckError(f"{verb} {resource} {where} failed: HTTP {err.status} "
                          f"{_message(err)}")

    def may(self, verb: str, resource: str, name: str | None = None,
            subresource: str | None = None, group: str = "",
            cluster_scoped: bool = False) -> bool:
        """Whether this identity may do `verb` (a SelfSubjectAccessReview)."""
        attributes = client.V1ResourceAttributes(
            namespace=None if cluster_scoped else self.namespace, verb=verb,
            resource=resource, name=name,
            subresource=subresource, group=group)
        review = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes))
        answer = self.call("create", "selfsubjectaccessreviews",
                           lambda: self.authorization.create_self_subject_access_review(review))
        return bool(answer.status.allowed)

    # The Deployment under test.

    def find_deployment(self, release: str) -> str:
        selector = f"app.kubernetes.io/instance={release},app.kubernetes.io/name=probe-demo"
        found = self.call("list", "deployments", lambda: self.apps.list_namespaced_deployment(
            self.namespace, label_selector=selector)).items
        if len(found) != 1:
            names = ", ".join(d.metadata.name for d in found) or "none"
            raise CheckError(f"--release={release}: expected one probe-demo Deployment "
                             f"labelled {selector} in namespace {self.namespace}, found "
                             f"{names}; name it with --deployment")
        return found[0].metadata.name

    def deployment(self, name: str) -> Any:
        return self.call("get", f"deployments/{name}",
                         lambda: self.apps.read_namespaced_deployment(name, self.namespace))

    def restart(self, name: str) -> None:
        """What `kubectl rollout restart` does: a new pod template, so a new ReplicaSet."""
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
        self.call("patch", f"deployments/{name}",
                  lambda: self.apps.patch_namespaced_deployment(name, self.namespace, body))

    def set_replicas(self, name: str, replicas: int) -> None:
        body = {"spec": {"replicas": replicas}}
        self.call("patch", f"deployments/{name}",
                  lambda: self.apps.patch_namespaced_deployment(name, self.namespace, body))

    def hpa_minimum(self, deployment: str) -> int | None:
        """minReplicas of an HPA scaling `deployment` (the chart names it the same)."""
        def read() -> Any:
            try:
                return self.autoscaling.read_namespaced_horizontal_pod_autoscaler(
                    deployment, self.namespace)
            except ApiException as err:
                if err.status == 404:
                    return None
                raise

        hpa = self.call("get", f"horizontalpodautoscalers/{deployment}", read)
        return hpa.spec.min_replicas or 1 if hpa is not None else None

    # Nodes.

    def nodes(self) -> list[Any]:
        return self.call("list", "nodes", lambda: self.core.list_node(),
                         cluster_scoped=True).items

    def node(self, name: str) -> Any:
        return self.call("get", f"nodes/{name}", lambda: self.core.read_node(name),
                         cluster_scoped=True)

    def cordon(self, name: str, unschedulable: bool = True) -> None:
        """What `kubectl cordon` (and `uncordon`, with False) does."""
        body = {"spec": {"unschedulable": unschedulable or None}}
        self.call("patch", f"nodes/{name}", lambda: self.core.patch_node(name, body),
                  cluster_scoped=True)

    # Pods.

    def pods(self, selector: str) -> list[Any]:
        return self.call("list", "pods", lambda: self.core.list_namespaced_pod(
            self.namespace, label_selector=selector)).items

    def delete_pod(self, name: str) -> None:
        """A graceful delete: the pod's own terminationGracePeriodSeconds applies."""
        self.call("delete", f"pods/{name}",
                  lambda: self.core.delete_namespaced_pod(name, self.namespace))

    def evict(self, name: str) -> str | None:
        """Ask the eviction API to evict pod `name`: None when accepted (or the pod is gone
        already), else why not: a PodDisruptionBudget answers 429 with its own reason."""
        body = client.V1Eviction(metadata=client.V1ObjectMeta(name=name,
                                                              namespace=self.namespace))

        def create() -> str | None:
            try:
                self.core.create_namespaced_pod_eviction(name, self.namespace, body)
            except ApiException as err:
                if err.status == 429:
                    return _budget_refusal(err)
                if err.status == 404:
                    return None
                raise
            return None

        return self.call("create", "pods/eviction", create)


def _budget_refusal(err: ApiException) -> str:
    try:
        causes = json.loads(err.body or "{}").get("details", {}).get("causes", [])
    except (ValueError, AttributeError):
        causes = []
    return "; ".join(c.get("message", "") for c in causes if isinstance(c, dict)) \
        or _message(err)


def _kubeconfig_path() -> str:
    return os.environ.get("KUBECONFIG") or os.path.expanduser(config.KUBE_CONFIG_DEFAULT_LOCATION)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:300]


def _unreachable(err: BaseException) -> str:
    """What failed, in words: urllib3 wraps the cause of its last retry."""
    cause = getattr(err, "reason", None) or err
    text = _first_line(cause)
    # "<urllib3.connection.HTTPSConnection object at 0x..>: Failed to establish a new
    # connection: [Errno 111] Connection refused" -> the part after the object.
    return text.split(">: ", 1)[-1]


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.exists(
        INCLUSTER_NAMESPACE)
