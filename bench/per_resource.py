"""The per-resource polling baseline: the operator reading each watched cluster with its own
GET every cycle (as ACK and Crossplane poll) instead of one list per account, for the
steady-state comparison. The benchmark's own variant (bench/launch.py installs it when
BENCH_POLLING_MODE=per-resource), not a setting of the product.
"""

from __future__ import annotations

from nks_operator.nks import errors
from nks_operator.nks.models import Cluster
from nks_operator.polling import accounts
from nks_operator.polling.poller import AccountPoller


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


def install() -> None:
    """Every account this process creates from now on polls per resource."""
    # Accounts builds its pollers by this name.
    accounts.AccountPoller = PerResourcePoller  # type: ignore[attr-defined]
