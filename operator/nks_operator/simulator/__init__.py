"""A stateful in-memory NKS simulator: the identity token endpoint and every NKS API
operation of the guide on one aiohttp server, with realistic asynchronous lifecycles,
the guide's rules and fault injection. It is the test double of every integration test
and the embedded default of the demo.

Start it with `nks-operator simulator [--host H] [--port P] [--delay SECONDS]`, or from
Python::

    async with run_simulator(SimulatorConfig(delay=0.05)) as sim:
        sim.url  # identity: sim.url + "/v2.0/tokens"; NKS: sim.url + "/v1/..."

    thread = SimulatorThread(SimulatorConfig(delay=0.05)).start()  # own loop, own thread
    ...; thread.stop()

Behaviour (see nks-facts.md): a token from `POST /v2.0/tokens` (any credentials unless
some are configured) is needed on every `/v1` call (401 otherwise) together with
`OpenStack-API-Version: container-infra latest` (406 otherwise); a token sees only its
tenant's clusters. Asynchronous operations run `*_IN_PROGRESS` for the configured delay,
then `*_COMPLETE` (or `*_FAILED`), each with a task-history entry. One operation at a time
per cluster (node groups included): others get 400 "operation in progress", or - with
`busy_behaviour="accept_and_drop"` - a 202 and no change, the NKS quirk.

Admin endpoints (no auth, not counted as NKS calls; JSON in and out):

- `GET /_sim/health` - liveness.
- `GET /_sim/state[?tenant=ID]` - every tenant's clusters with node groups (the control
  plane included), nodes (`uuid`, `name`, `address`, `status`), events, IP ACL, deleted
  cluster UUIDs, running operations, pending failure injections and token counts.
- `GET /_sim/calls[?log=0][&operation=NAME][&since=SEQ]` - `counts` per operation name,
  `by_status` per operation and status, `total`, `last_seq`, and `log` entries
  (`seq`, `timestamp`, `method`, `path`, `operation`, `status`, `tenant`, `fault`,
  `dropped`). Never any header or body, hence no token or password.
- `POST /_sim/reset-calls` - clear the counts and the log.
- `GET|PUT|DELETE /_sim/faults`, `POST /_sim/faults` - show, replace (`{seed, rules}` or a
  list of rules), clear, or append one fault rule (see `faults.FaultRule`).
- `POST /_sim/expire-tokens` `{tenant?}` - invalidate all tokens (or one tenant's).
- `POST /_sim/reset` `{state?, calls?, faults?, tokens?}` - wipe state, call log and faults
  (tokens only when asked).
- `POST /_sim/fail-next` `{cluster?, operation?, tenant?, reason?}` - the next matching
  asynchronous operation ends `*_FAILED` with `status_reason` = reason and a FAIL event.
  Without `cluster` it also matches a cluster about to be created.
- `POST /_sim/finish-operations` `{cluster?, tenant?}` - complete running operations now.
- `GET|PATCH /_sim/config` - read, or change at run time: delay, delays, default_delay,
  token_ttl, max_clusters_per_tenant, max_nodes_per_group, busy_behaviour,
  supported_k8s, subnets.
- `PATCH /_sim/clusters/{uuid|name}` `{status?, status_reason?, name?, labels?}` and
  `PATCH /_sim/clusters/{c}/nodegroups/{ng}` `{status?, status_reason?, flavor_id?,
  labels?}` - change things behind the operator's back (`labels.kube_tag` of a cluster
  moves its control plane; a null label value removes the label).
- `DELETE /_sim/clusters/{uuid|name}` - the cluster vanishes at once.
"""

from nks_operator.simulator.config import Credential, SimulatorConfig
from nks_operator.simulator.core import Simulator
from nks_operator.simulator.faults import FaultRule, FaultSettings
from nks_operator.simulator.server import SimulatorHandle, SimulatorThread, run_simulator

__all__ = [
    "Credential",
    "FaultRule",
    "FaultSettings",
    "Simulator",
    "SimulatorConfig",
    "SimulatorHandle",
    "SimulatorThread",
    "run_simulator",
]
