"""Growing the primary's volume in place: the claim template of a StatefulSet cannot
change, and the controller never resizes a PVC it made, so a larger `storage.size`

- raises the PVC's request itself (a server-side apply patch of that one field, which
  the storage provider then expands, online where it can), and
- re-creates the StatefulSet with the new template around the running pod (deleted with
  orphan propagation, so the pod and its volume stay and the new StatefulSet adopts them).

A class without `allowVolumeExpansion` is refused before anything changes, in one line
naming the setting."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

ORPHAN_ON_DELETE = {"pulumi.com/deletionPropagationPolicy": "orphan"}
"""On a StatefulSet: its replacement leaves its pods and volumes running, for the new
StatefulSet to adopt."""


def expandable_size(claim: str, namespace: str, size: str) -> pulumi.Output[str]:
    """`size`, once the claim's StorageClass is known to expand volumes; the program stops
    with one line instead when it cannot, before anything that depends on the size (the
    patch, the new StatefulSet) is applied."""
    volume_claim = k8s.core.v1.PersistentVolumeClaim.get("grown-claim", f"{namespace}/{claim}")

    def checked(class_name: str | None) -> pulumi.Output[str]:
        if class_name is None:
            return pulumi.Output.from_input(size)
        storage_class = k8s.storage.v1.StorageClass.get("grown-claim-class", class_name)

        async def decided() -> str:
            # A read's missing property is final, but a preview marks it unknown, and an
            # apply would then never run: its value is awaited instead (None either way).
            allowed = await storage_class.allow_volume_expansion.future()
            if not allowed:
                raise pulumi.RunError(
                    f"invalid stack config: pgpitr:storage.size: cannot grow to {size}: StorageClass {class_name}"
                    f" (of {claim}) does not allow volume expansion. Set allowVolumeExpansion: true on it if its"
                    " provisioner can expand volumes, or keep the size"
                )
            return size

        return pulumi.Output.from_input(decided())

    return volume_claim.spec.apply(lambda spec: checked(spec.storage_class_name))


def claim_size_patch(
    claim: str, namespace: pulumi.Input[str], size: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> k8s.core.v1.PersistentVolumeClaimPatch:
    """The claim's request, owned by this stack from its first deployment on (forced: the
    StatefulSet controller wrote it). Kept on delete: relinquishing the only manager of a
    required field would fail, and the claim outlives the stack anyway. Not awaited: the
    provider's await of a claim times out on a bound one, and an expansion takes as long
    as the storage provider needs."""
    return k8s.core.v1.PersistentVolumeClaimPatch(
        f"{claim}-size",
        metadata=k8s.meta.v1.ObjectMetaPatchArgs(
            name=claim,
            namespace=namespace,
            annotations={"pulumi.com/patchForce": "true", "pulumi.com/skipAwait": "true"},
        ),
        spec=k8s.core.v1.PersistentVolumeClaimSpecPatchArgs(
            resources=k8s.core.v1.VolumeResourceRequirementsPatchArgs(requests={"storage": size})
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True)),
    )
