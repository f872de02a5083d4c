"""Render a kustomization as `kustomize build` does, for the subset deploy/k8s uses.

Supported: `resources` (files, or folders holding a kustomization.yaml), `patches`
given by `path` (strategic-merge patches, each document aimed at the resource of
its kind and name), `images` (newName / newTag), `replicas` and `namespace`. In a
strategic merge, maps merge key by key, lists of maps that all have a `name`
(containers, env, ports, volumes, mounts) merge item by item on it, and any other
list is replaced whole, which is what Kubernetes' patch strategies do for the
fields deploy/k8s patches. Anything else in a kustomization is refused, so a
kustomization that outgrows this renderer fails its tests instead of being
rendered wrongly.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

SUPPORTED = {"apiVersion", "kind", "resources", "patches", "images", "replicas", "namespace"}


class UnsupportedKustomization(ValueError):
    """The kustomization uses a field this renderer does not implement."""


def build(folder: Path) -> list[Manifest]:
    """Every manifest of the kustomization in `folder`, patched and transformed."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise UnsupportedKustomization(f"{folder}: {sorted(unknown)}")
    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = folder / entry
        if path.is_dir():
            manifests.extend(build(path))
        else:
            manifests.extend(load_documents(path))
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise UnsupportedKustomization(f"{folder}: patch {patch}")
        for document in load_documents(folder / patch["path"]):
            target = find(manifests, document["kind"], document["metadata"]["name"])
            merged = strategic_merge(target, document)
            target.clear()
            target.update(merged)
    for image in kustomization.get("images", []):
        set_image(manifests, image)
    for replica in kustomization.get("replicas", []):
        find(manifests, "Deployment", replica["name"])["spec"]["replicas"] = replica["count"]
    if "namespace" in kustomization:
        for manifest in manifests:
            manifest["metadata"]["namespace"] = kustomization["namespace"]
    return manifests


def load_documents(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    if len(matches) != 1:
        raise LookupError(f"{len(matches)} {kind} named {name}")
    return matches[0]


def strategic_merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(base)
        for key, value in patch.items():
            merged[key] = strategic_merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(patch, list) and named_items(base + patch):
        merged_list = copy.deepcopy(base)
        for item in patch:
            same = [i for i, old in enumerate(merged_list) if old["name"] == item["name"]]
            if same:
                merged_list[same[0]] = strategic_merge(merged_list[same[0]], item)
            else:
                merged_list.append(item)
        return merged_list
    return copy.deepcopy(patch)


def named_items(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def pod_specs(manifest: Manifest) -> list[Manifest]:
    if manifest["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        return [manifest["spec"]["template"]["spec"]]
    return []


def set_image(manifests: list[Manifest], image: dict[str, str]) -> None:
    for manifest in manifests:
        for spec in pod_specs(manifest):
            for container in spec.get("containers", []) + spec.get("initContainers", []):
                name, _, tag = container["image"].partition(":")
                if name != image["name"]:
                    continue
                new_name = image.get("newName", name)
                new_tag = image.get("newTag", tag)
                container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name
