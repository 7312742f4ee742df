"""The per-resource polling baseline: the operator reading each watched cluster with its own
GET every cycle (as ACK and Crossplane poll) instead of one list per account, for the
steady-state comparison. The benchmark's own variant, not a setting of the product.

`python -m bench.per_resource ARGS` is `nks-operator ARGS` with every account polled so.
"""

from __future__ import annotations

import sys

from nks_operator import cli
from nks_operator.nks import errors
from nks_operator.nks.models import Cluster
from nks_operator.polling import accounts
from nks_operator.polling.poller import AccountPoller

# The operator's environment variable that picks this variant (bench/procs.py reads it).
POLLING_MODE = "BENCH_POLLING_MODE"
PER_RESOURCE = "per-resource"


class PerResourcePoller(AccountPoller):
    """An account poller that GETs each cluster it watches instead of listing them."""

    async def cycle_summaries(self, ids: list[str]) -> list[Cluster]:
        found = []
        for cluster_id in ids:
            try:
                found.append(await self.reader.get_cluster(cluster_id))
            except errors.NotFoundError:
                continue
        return found


def main() -> int:
    # Accounts builds its pollers from this name: every account of this process polls so.
    accounts.AccountPoller = PerResourcePoller  # type: ignore[attr-defined]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
