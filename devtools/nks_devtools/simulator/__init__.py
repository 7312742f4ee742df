"""A stateful in-memory NKS simulator: the identity token endpoint, every NKS API
operation of the guide and the compute servers of the nodes on one aiohttp server, with
realistic asynchronous lifecycles, the guide's rules and fault injection. It is the test
double of every integration test and the embedded default of the demo.

Start it with `nks-operator simulator [--host H] [--port P] [--delay SECONDS]`, or from
Python::

    async with run_simulator(SimulatorConfig(delay=0.05)) as sim:
        sim.url  # identity: sim.url + "/v2.0/tokens"; NKS: sim.url + "/v1/..."

    thread = SimulatorThread(SimulatorConfig(delay=0.05)).start()  # own loop, own thread
    ...; thread.stop()

Behaviour (docs/nks-api-notes.md says what each rests on): a token from
`POST /v2.0/tokens` (any credentials unless some are configured; its catalog lists the
compute and kubernetes endpoints per region, "KR1"...) is needed on every call (401
otherwise), `/v1` calls also need `OpenStack-API-Version: container-infra latest` (406
otherwise); a token sees only its tenant's clusters. Every operation of the guide and of
its current edition is served: node labels, metric autoscaler and floating IP auto-bind
(`PATCH .../nodegroups/{ng}` by `type`), control-plane logs (`PATCH /v1/clusters/{id}`),
add-on types, catalogue and installed add-ons; the CNI change only with the
`cni_update_api` knob (gone today: 404). Answers look like today's: labels a string map
(objects and lists as JSON text, unset list-likes `"[]"`), `health_status` `FRESH` with a
structured reason, the Live labels (`node_list`, `platform_version`,
`upgradable_kube_versions`, `mba_*`), `is_default` false for `default-worker`,
`default-master` not in the node group list (knob; a GET on it: 403), `node_addresses`
and no node list. Asynchronous operations run `*_IN_PROGRESS` for the configured delay,
then `*_COMPLETE` (or another outcome; an add-on `UPDATE_COMPLETE` / `UPDATE_FAILED`),
with a task-history entry named as the current edition names it (`task_names` knob): IP
ACL (applied at once), certificate and service gateway changes record none unless
`record_unlisted_tasks`. One operation at a time per cluster (node groups and add-ons
included): others get 400 "operation in progress", or - with
`busy_behaviour="accept_and_drop"` - a 202 and no change, the NKS quirk.
`GET /v2/{tenant}/servers/detail` lists the worker nodes as compute servers (same ids as
`node_list` wants; a stopped node is SHUTOFF).

Admin endpoints (no auth, not counted as NKS calls; JSON in and out):

- `GET /_sim/health` - liveness.
- `GET /_sim/state[?tenant=ID]` - every tenant's clusters with node groups (the control
  plane included), nodes (`uuid`, `name`, `address`, `status`; not part of any NKS
  answer), installed add-ons, the stored settings (`settings`: control-plane log with the
  app key masked, `skm`; per group node labels, metric autoscaler, floating IP,
  `ca_pod_replicas`), events, IP ACL, deleted cluster UUIDs, running operations (`held`,
  `outcome`), pending injections and token counts.
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
- `POST /_sim/fail-next` `{cluster?, operation?, tenant?, reason?, outcome?, hold?}` - the
  next matching asynchronous operation ends `*_FAILED` (or `outcome`
  `rollback_complete` / `rollback_failed`: status `ROLLBACK_*`) with `status_reason` =
  reason and a FAIL task, its effect not applied. Without `cluster` it also matches a
  cluster about to be created. `hold: true`: only once finished by hand.
- `POST /_sim/hold-next` `{cluster?, operation?, tenant?, outcome?, reason?}` - the next
  matching operation stays `*_IN_PROGRESS` until `finish-operations`, then ends with
  `outcome` (default `complete`).
- `POST /_sim/finish-operations` `{cluster?, tenant?, operation?}` - end running (and
  held) operations now.
- `GET|PATCH /_sim/config` - read, or change at run time: delay, delays, default_delay,
  token_ttl, max_clusters_per_tenant, max_nodes_per_group, busy_behaviour,
  supported_k8s, subnets, platform_version, and the knobs for contested or unknown NKS
  behaviour (docs/nks-api-notes.md, "Simulator knobs", gives each default and its
  sources): certificate_renewal_status / service_gateway_status / setting_change_status /
  addon_change_status (`update_in_progress` | `unchanged`), record_unlisted_tasks,
  task_names (`current` | `copy`), supported_event_type_shape, empty_list_label,
  list_default_master, kube_version_status, health_reason_form, mba_enable_form,
  setting_labels, addon_options, addon_paths, cni_update_api, public_endpoint_rule.
- `PATCH /_sim/clusters/{uuid|name}` `{status?, status_reason?, name?, labels?,
  answer_labels?}` and `PATCH /_sim/clusters/{c}/nodegroups/{ng}` `{status?,
  status_reason?, flavor_id?, labels?, answer_labels?}` - change things behind the
  operator's back (`labels.kube_tag` of a cluster moves its control plane; a null label
  value removes the label). `answer_labels` change only how answers show labels: any JSON
  value verbatim, null hides the label - for answers in every shape NKS may send.
- `DELETE /_sim/clusters/{uuid|name}` - the cluster vanishes at once.
"""

from nks_devtools.simulator.config import Credential, SimulatorConfig
from nks_devtools.simulator.core import Simulator
from nks_devtools.simulator.faults import FaultRule, FaultSettings
from nks_devtools.simulator.server import SimulatorHandle, SimulatorThread, run_simulator

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
