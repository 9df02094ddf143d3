"""`cluster smoke`: one pod of pgpitr's image, admitted as the restricted Pod Security
Standard demands, that checks from inside the pod network what the stack relies on:
PostgreSQL is there, cluster DNS answers, the API server's Service and the S3 server
are reachable, and nothing outside the machine is."""

from __future__ import annotations

import json
import time
from typing import Any, Final

from cluster import api as k8s
from cluster.config import KUBERNETES_SERVICE_IP, NODE_IP, S3_PORT
from cluster.state import ClusterError
from harness.processes import wait_for

POD_NAME: Final = "pgpitr-smoke"
NAMESPACE: Final = "default"
OUTSIDE_ADDRESS: Final = ("192.0.2.1", 80)
"""An address off the machine (the documentation network): must be unreachable."""

SCRIPT: Final = f"""
import json, socket, subprocess
def connect(host, port):
    try:
        socket.create_connection((host, port), timeout=3).close()
        return "open"
    except OSError as error:
        return "error: " + (error.strerror or str(error))
result = {{}}
result["postgres"] = subprocess.run(["postgres", "--version"], capture_output=True, text=True).stdout.strip()
try:
    result["dns"] = socket.gethostbyname("kubernetes.default.svc.cluster.local")
except OSError as error:
    result["dns"] = "error: " + str(error)
result["api_service"] = connect("{KUBERNETES_SERVICE_IP}", 443)
result["s3"] = connect("{NODE_IP}", {S3_PORT})
result["outside"] = connect("{OUTSIDE_ADDRESS[0]}", {OUTSIDE_ADDRESS[1]})
print(json.dumps(result))
"""


def pod(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": POD_NAME, "namespace": NAMESPACE},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 999,
                "runAsGroup": 999,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "smoke",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "command": ["python3", "-c", SCRIPT],
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                }
            ],
        },
    }


def run(api: k8s.Api, image: str, timeout: float = 120) -> dict[str, Any]:
    started = time.monotonic()
    k8s.delete(api, "Pod", POD_NAME, NAMESPACE, grace_seconds=0)
    wait_for(lambda: k8s.get(api, "Pod", POD_NAME, NAMESPACE) is None, 60, "the previous smoke pod to go")
    api.request("POST", k8s.object_path("Pod", None, NAMESPACE), pod(image))

    def finished() -> bool:
        found = k8s.get(api, "Pod", POD_NAME, NAMESPACE) or {}
        return found.get("status", {}).get("phase") in ("Succeeded", "Failed")

    try:
        wait_for(finished, timeout, "the smoke pod to finish")
    except Exception:
        found = k8s.get(api, "Pod", POD_NAME, NAMESPACE) or {}
        statuses = found.get("status", {}).get("containerStatuses", [])
        raise ClusterError(f"the smoke pod did not finish: {json.dumps(statuses)[:400]}") from None
    found = k8s.get(api, "Pod", POD_NAME, NAMESPACE) or {}
    output = api.text(k8s.object_path("Pod", POD_NAME, NAMESPACE) + "/log").strip()
    k8s.delete(api, "Pod", POD_NAME, NAMESPACE, grace_seconds=0)
    try:
        checks: dict[str, Any] = json.loads(output.splitlines()[-1])
    except (ValueError, IndexError):
        raise ClusterError(f"the smoke pod printed no result: {output[-300:]}") from None
    ok = (
        found.get("status", {}).get("phase") == "Succeeded"
        and str(checks.get("postgres", "")).startswith("postgres (PostgreSQL)")
        and checks.get("dns") == KUBERNETES_SERVICE_IP
        and checks.get("api_service") == "open"
        and checks.get("s3") == "open"
        and str(checks.get("outside", "")).startswith("error")
    )
    return {"ok": ok, "seconds": round(time.monotonic() - started, 1), "image": image, **checks}
