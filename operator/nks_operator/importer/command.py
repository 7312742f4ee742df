"""The `nks-operator import` command line: read NKS, print or apply the resources."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from nks_operator.importer import apply, build, credentials, inventory, output
from nks_operator.importer.errors import ImportFailed
from nks_operator.importer.mapping import Options
from nks_operator.kube import login
from nks_operator.kube.api import KubeAPI
from nks_operator.kube.client import KubeClient, KubeUnavailable, LoginFailed, LoginMissing
from nks_operator.kube.credentials import ResolvedCredentials
from nks_operator.nks import NKS_REGIONS, Credentials, NKSClient, errors


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "import",
        help="bring existing NKS clusters under management (prints or applies resources)",
        description=(
            "List the NKS clusters of a project and region (or the ones named) with their "
            "node groups and print one NKSCluster per cluster and one NKSNodeGroup per node "
            "group other than the defaults, with clusterID / nodeGroupID set and a spec that "
            "mirrors NKS: applying them and letting the operator reconcile sends nothing to "
            "NKS. Only read calls are made. Notes on what a spec cannot hold go to stderr. "
            "See docs/import.md."
        ),
    )
    parser.add_argument(
        "--region", required=True, type=str.lower, choices=NKS_REGIONS, help="NKS region"
    )
    parser.add_argument(
        "-n",
        "--namespace",
        required=True,
        metavar="NS",
        help="namespace of the resources (and of the credentials Secret)",
    )
    parser.add_argument(
        "--credentials-secret",
        metavar="NAME",
        help="Secret in NS with tenantId, username, password (optional identityUrl, nksUrl), "
        "read from the current kubeconfig's cluster and referenced by the resources; "
        "without it: NKS_TENANT_ID, NKS_USERNAME, NKS_PASSWORD (+ NKS_IDENTITY_URL, NKS_URL) "
        "and the resources use the operator's default credentials",
    )
    parser.add_argument(
        "--cluster",
        action="append",
        default=[],
        metavar="NAME_OR_UUID",
        help="import only this cluster (repeatable; default: every cluster of the project)",
    )
    parser.add_argument(
        "-o",
        "--output",
        choices=("yaml", "json"),
        default="yaml",
        help="print format: a multi-document YAML stream or a JSON List (not with --apply)",
    )
    parser.add_argument(
        "--apply",
        action="store_true",
        help=f"server-side apply them (field manager {apply.FIELD_MANAGER}) instead of "
        "printing; resources already managing a cluster or node group are left alone",
    )
    parser.add_argument(
        "--deletion-policy",
        choices=("Retain", "Delete"),
        default="Retain",
        help="spec.deletionPolicy of the resources (default Retain: deleting one leaves NKS "
        "as it is)",
    )
    login.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args, os.environ))
    except ImportFailed as failure:
        print(f"nks-operator import: {failure}", file=sys.stderr)
        return 1


async def read_nks(
    resolved: ResolvedCredentials, region: str, wanted: Sequence[str]
) -> inventory.Inventory:
    """The inventory, with every NKS failure turned into a message for the user."""
    try:
        nks = NKSClient(
            Credentials(
                tenant_id=resolved.tenant_id,
                username=resolved.username,
                password=resolved.password,
            ),
            region,
            nks_url=resolved.nks_url,
            identity_url=resolved.identity_url,
        )
    except errors.ConfigurationError as error:
        raise ImportFailed(f"{resolved.source}: {error.message}") from None
    async with nks:
        try:
            return await inventory.read(nks, wanted)
        except errors.UnauthorizedError as error:
            raise ImportFailed(
                f"NKS rejected the credentials from {resolved.source}: {error}"
            ) from None
        except errors.TransportError as error:
            raise ImportFailed(
                f"cannot reach NKS (identity {nks.endpoints.identity}, NKS "
                f"{nks.endpoints.nks}): {error}"
            ) from None
        except errors.NKSError as error:
            raise ImportFailed(f"NKS answered with an error: {error}") from None


def _tell(result: build.Result) -> None:
    for message in result.warnings:
        print(f"warning: {message}", file=sys.stderr)
    for item in result.resources:
        for message in item.messages:
            print(f"{item.ref}: {message}", file=sys.stderr)
    for message in result.skipped:
        print(f"skipped: {message}", file=sys.stderr)


def _summary(result: build.Result, namespace: str, applied: bool) -> str:
    if applied:
        existed = sum(item.exists for item in result.resources)
        text = (
            f"created {len(result.resources) - existed} resource(s) in namespace {namespace}; "
            f"{existed} already there"
        )
    else:
        kinds = [item.kind for item in result.resources]
        text = (
            f"printed {kinds.count('NKSCluster')} NKSCluster(s) and "
            f"{kinds.count('NKSNodeGroup')} NKSNodeGroup(s) for namespace {namespace}"
        )
    paused = sum(item.paused for item in result.resources)
    if paused:
        text += f"; {paused} paused (see above)"
    if result.skipped:
        text += f"; {len(result.skipped)} skipped (see above)"
    return text


async def _import(args: argparse.Namespace, env: Mapping[str, str], kube: KubeClient) -> None:
    if args.credentials_secret:
        resolved = await credentials.from_secret(
            KubeAPI(kube), args.namespace, args.credentials_secret
        )
    else:
        resolved = credentials.from_environment(env)
    found = await read_nks(resolved, args.region, args.cluster)
    existing = await apply.existing(kube, args.namespace) if args.apply else None
    options = Options(args.region, args.credentials_secret, args.deletion_policy)
    result = build.build(found, namespace=args.namespace, options=options, existing=existing)
    _tell(result)
    if result.errors:
        raise ImportFailed(
            "cannot import:\n  "
            + "\n  ".join(result.errors)
            + f"\nnothing was {'applied' if args.apply else 'printed'}; --cluster "
            "selects the clusters that can be imported"
        )
    if args.apply:
        for line in await apply.apply(kube, result.resources):
            print(line)
    else:
        sys.stdout.write(output.render([item.manifest for item in result.resources], args.output))
    print(_summary(result, args.namespace, args.apply), file=sys.stderr)


async def _run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    # Logs in (as kubectl does, kube/login.py) at its first request: never without a Secret
    # or --apply.
    kube = KubeClient(login.KubeLogin(args.kubeconfig, args.context).consumer())
    try:
        await _import(args, env, kube)
    except LoginMissing:
        raise ImportFailed(
            "no Kubernetes login: no service account, and no kubeconfig (KUBECONFIG, "
            "~/.kube/config or --kubeconfig)"
        ) from None
    except LoginFailed as error:
        raise ImportFailed(f"cannot log in to Kubernetes: {error.message}") from None
    except KubeUnavailable as error:
        raise ImportFailed(f"cannot reach the Kubernetes API server: {error}") from None
    finally:
        await kube.aclose()
    return 0
