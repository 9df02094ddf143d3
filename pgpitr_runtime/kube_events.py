"""A Kubernetes Event about this pod, posted with the pod's own service account token
(the primary's init container mounts one, allowed to create Events in its namespace and
nothing else). Outside Kubernetes, or without the token, nothing is posted."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from pgpitr_runtime import names
from pgpitr_runtime.archive import now_text

TOKEN_DIR: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TIMEOUT_SECONDS: Final = 10
MAX_MESSAGE: Final = 1024


def event(reason: str, message: str, kind: str, pod: str, namespace: str, uid: str) -> dict[str, object]:
    now = now_text()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{pod}.", "namespace": namespace},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": namespace, "uid": uid},
        "reason": reason,
        "message": message[:MAX_MESSAGE],
        "type": kind,
        "source": {"component": "pgpitr"},
        "reportingComponent": "pgpitr",
        "reportingInstance": pod,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


def post(reason: str, message: str, kind: str, env: Mapping[str, str], token_dir: Path = TOKEN_DIR) -> str:
    """Posts the Event; returns what happened, for the log (never raises: an Event is an
    announcement, and the log line says the same)."""
    token_file = token_dir / "token"
    host = env.get("KUBERNETES_SERVICE_HOST", "")
    pod = env.get(names.PGPITR_POD_NAME, "")
    if not token_file.exists() or not host or not pod:
        return "no Event: not in a pod with Kubernetes API access"
    namespace = (token_dir / "namespace").read_text().strip()
    body = event(reason, message, kind, pod, namespace, env.get(names.PGPITR_POD_UID, ""))
    address = f"[{host}]" if ":" in host else host
    request = urllib.request.Request(
        f"https://{address}:{env.get('KUBERNETES_SERVICE_PORT', '443')}/api/v1/namespaces/{namespace}/events",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token_file.read_text().strip()}", "Content-Type": "application/json"},
        method="POST",
    )
    context = ssl.create_default_context(cafile=str(token_dir / "ca.crt"))
    try:
        with urllib.request.urlopen(request, context=context, timeout=TIMEOUT_SECONDS) as response:
            return f"Event {reason} posted ({response.status})"
    except (OSError, urllib.error.URLError) as error:
        return f"warning: could not post Event {reason}: {error}"
