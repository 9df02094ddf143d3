"""A small client of the cluster's API server (the admin's certificate, no kubectl):
server-side apply, get, list, delete, and the node's readiness."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Final

from cluster.config import FIELD_MANAGER, NODE_NAME, api_server_url
from cluster.pki import Pki

CORE_KINDS: Final = {
    "Namespace": ("namespaces", False),
    "Secret": ("secrets", True),
    "PersistentVolume": ("persistentvolumes", False),
    "Pod": ("pods", True),
    "Node": ("nodes", False),
}
"""Kind -> (resource, namespaced) of the core group."""
GROUP_KINDS: Final = {
    "StorageClass": ("storage.k8s.io/v1", "storageclasses", False),
    "ClusterRole": ("rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "CustomResourceDefinition": ("apiextensions.k8s.io/v1", "customresourcedefinitions", False),
}


class ApiError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class Api:
    def __init__(self, pki: Pki, timeout: float = 10) -> None:
        self.context = ssl.create_default_context(cafile=str(pki.ca))
        self.context.load_cert_chain(str(pki.cert("admin")), str(pki.key("admin")))
        self.timeout = timeout

    def request(
        self, method: str, path: str, body: object = None, content_type: str = "application/json"
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(api_server_url() + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            try:
                message = str(json.loads(detail).get("message", detail))
            except ValueError:
                message = detail.strip() or str(error.reason)
            raise ApiError(error.code, message) from None
        if not raw:
            return {}
        decoded: dict[str, Any] = json.loads(raw)
        return decoded

    def text(self, path: str) -> str:
        request = urllib.request.Request(api_server_url() + path)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=self.timeout) as response:
                return bytes(response.read()).decode(errors="replace")
        except urllib.error.HTTPError as error:
            raise ApiError(error.code, error.read().decode(errors="replace").strip()) from None

    def healthy(self, endpoint: str = "/readyz") -> bool:
        try:
            return self.text(endpoint).strip() == "ok"
        except (OSError, ApiError):
            return False


def object_path(kind: str, name: str | None = None, namespace: str | None = None) -> str:
    if kind in CORE_KINDS:
        resource, namespaced = CORE_KINDS[kind]
        prefix = "/api/v1"
    else:
        group_version, resource, namespaced = GROUP_KINDS[kind]
        prefix = f"/apis/{group_version}"
    if namespaced and namespace:
        prefix += f"/namespaces/{namespace}"
    return f"{prefix}/{resource}" + (f"/{name}" if name else "")


def apply(api: Api, manifest: dict[str, Any]) -> dict[str, Any]:
    """Server-side apply as FIELD_MANAGER (no last-applied annotation: Secrets' values are
    not copied into their metadata)."""
    metadata = manifest["metadata"]
    path = object_path(manifest["kind"], metadata["name"], metadata.get("namespace"))
    query = urllib.parse.urlencode({"fieldManager": FIELD_MANAGER, "force": "true"})
    return api.request("PATCH", f"{path}?{query}", manifest, "application/apply-patch+yaml")


def get(api: Api, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
    try:
        return api.request("GET", object_path(kind, name, namespace))
    except ApiError as error:
        if error.status == 404:
            return None
        raise


def items(api: Api, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = api.request("GET", object_path(kind, None, namespace)).get("items", [])
    return listed


def delete(api: Api, kind: str, name: str, namespace: str | None = None, grace_seconds: int | None = None) -> None:
    body = None if grace_seconds is None else {"gracePeriodSeconds": grace_seconds}
    try:
        api.request("DELETE", object_path(kind, name, namespace), body)
    except ApiError as error:
        if error.status != 404:
            raise


def node_ready(api: Api) -> bool:
    try:
        node = get(api, "Node", NODE_NAME)
    except (OSError, ApiError):
        return False
    if node is None:
        return False
    return condition_true(node, "Ready")


def established(api: Api, crd_name: str) -> bool:
    """The API server serves the CustomResourceDefinition's kind."""
    crd = get(api, "CustomResourceDefinition", crd_name)
    return crd is not None and condition_true(crd, "Established")


def true_conditions(obj: dict[str, Any]) -> set[str]:
    """The types of an object's status conditions that hold."""
    # A just-created object has `"status": {}` or `"conditions": null`: no condition holds yet.
    conditions = (obj.get("status") or {}).get("conditions") or []
    return {c.get("type", "") for c in conditions if c.get("status") == "True"}


def condition_true(obj: dict[str, Any], condition: str) -> bool:
    return condition in true_conditions(obj)
