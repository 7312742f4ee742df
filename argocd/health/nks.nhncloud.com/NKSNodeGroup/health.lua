-- Argo CD health check for nks.nhncloud.com/NKSNodeGroup (nks-operator).
-- Reads only what the operator writes: status.phase, status.observedGeneration and the
-- Ready / Synced / Progressing conditions, each stamped with the generation it describes.
local hs = {}

-- Reasons for a problem that waiting will not fix: a person must change the spec, the
-- credentials, or NKS itself. Anything else that is not Ready is still on its way.
local degraded_reasons = {
  InvalidSpec = true,
  CredentialsMissing = true,
  CredentialsSecretNotFound = true,
  CredentialsInvalid = true,
  CredentialsRejected = true,
  SecretKeyMissing = true,
  CreateRefused = true,
  ClusterNameInUse = true,
  NodeGroupNameInUse = true,
  ClusterNotFound = true,
  NodeGroupNotFound = true,
  NKSFailed = true,
  ManagedByAnotherResource = true,
  DefaultCredentialsNotAllowed = true,
  EndpointNotAllowed = true,
  SecretNotOwned = true,
  NotPermitted = true,
}

local function describe(condition)
  local reason = condition.reason
  if reason == nil or reason == "" then
    reason = condition.type
  end
  if condition.message ~= nil and condition.message ~= "" then
    return reason .. ": " .. condition.message
  end
  return reason
end

-- Argo CD runs checks from argocd-cm without Lua's string library (string methods
-- included), so the annotation is looked up among the spellings the operator accepts:
-- "true" in any capitalisation.
local true_spellings = {}
for _, t in ipairs({"t", "T"}) do
  for _, r in ipairs({"r", "R"}) do
    for _, u in ipairs({"u", "U"}) do
      for _, e in ipairs({"e", "E"}) do
        true_spellings[t .. r .. u .. e] = true
      end
    end
  end
end

local generation = obj.metadata.generation
local annotations = obj.metadata.annotations
local paused = annotations ~= nil and true_spellings[annotations["nks.nhncloud.com/paused"]] == true
local paused_message = "Paused by the nks.nhncloud.com/paused annotation: nothing is sent to NKS"

local status = obj.status
local conditions = {}
if status ~= nil and status.conditions ~= nil then
  conditions = status.conditions
end

-- The newest generation the operator has acted on: status.observedGeneration is written
-- once NKS has been observed, the conditions' on every pass (also before any NKS call).
local observed = nil
if status ~= nil then
  observed = status.observedGeneration
end
for _, condition in ipairs(conditions) do
  local seen = condition.observedGeneration
  if seen ~= nil and (observed == nil or seen > observed) then
    observed = seen
  end
end

if status == nil or (status.phase == nil and #conditions == 0) then
  if paused then
    hs.status = "Suspended"
    hs.message = paused_message
  else
    hs.status = "Progressing"
    hs.message = "Waiting for the operator to report status"
  end
  return hs
end

if generation ~= nil and observed ~= nil and observed < generation then
  if paused then
    hs.status = "Suspended"
    hs.message = paused_message
  else
    hs.status = "Progressing"
    hs.message = "Waiting for the operator to observe generation " .. generation
      .. " (last observed " .. observed .. ")"
  end
  return hs
end

-- A condition computed for an older generation says nothing about the current spec.
local ready, synced, progressing = nil, nil, nil
for _, condition in ipairs(conditions) do
  local current = generation == nil or condition.observedGeneration == nil
    or condition.observedGeneration >= generation
  if current and condition.type == "Ready" then
    ready = condition
  elseif current and condition.type == "Synced" then
    synced = condition
  elseif current and condition.type == "Progressing" then
    progressing = condition
  end
end

-- Degraded first, even when paused: the operator keeps validating and observing.
if ready ~= nil and ready.status == "False" and degraded_reasons[ready.reason] then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end
if synced ~= nil and synced.status == "False" and degraded_reasons[synced.reason] then
  hs.status = "Degraded"
  hs.message = describe(synced)
  return hs
end

-- The resource runs, but a change cannot go on without a person: NKS refused or failed
-- it, it cannot be sent as specified, or it passed its deadline.
local blocked_reasons = {
  OperationRefused = true,
  OperationFailed = true,
  OperationTimedOut = true,
  UpgradeBlocked = true,
  NoUpgradePath = true,
  StopNodesBlocked = true,
  AutoscalerBlocked = true,
  UnknownNodes = true,
  ServiceGatewayBlocked = true,
  CNIChangeBlocked = true,
  UserScriptNotApplied = true,
  SettingNotApplied = true,
  AddonBlocked = true,
  AddonFailed = true,
  ArgoCDRegistrationFailed = true,
}
local function blocked(condition)
  return condition ~= nil and condition.status == "False" and blocked_reasons[condition.reason]
end
if blocked(synced) or blocked(progressing) then
  hs.status = "Degraded"
  if blocked(synced) then
    hs.message = describe(synced)
  else
    hs.message = describe(progressing)
  end
  return hs
end

local phase = status.phase
if phase == "Failed" then
  hs.status = "Degraded"
  if ready ~= nil and ready.status ~= "True" then
    hs.message = describe(ready)
  elseif status.nksStatus ~= nil then
    hs.message = "NKS reports " .. status.nksStatus
  else
    hs.message = "Failed"
  end
  return hs
end

if paused then
  hs.status = "Suspended"
  if ready ~= nil and ready.reason == "Paused" and ready.message ~= nil and ready.message ~= "" then
    hs.message = ready.message
  else
    hs.message = paused_message
  end
  return hs
end
if phase == "Paused" then
  hs.status = "Progressing"
  hs.message = "Resuming: the nks.nhncloud.com/paused annotation was removed"
  return hs
end

-- A transient sync problem (NKS unreachable, rate limited) is shown, not judged.
local sync_note = ""
if synced ~= nil and synced.status == "False" then
  sync_note = " (" .. describe(synced) .. ")"
end

if progressing ~= nil and progressing.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(progressing) .. sync_note
  return hs
end

if phase == "Ready" and ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready) .. sync_note
  return hs
end

-- Pending, Provisioning, Updating, Upgrading, Deleting, and Ready while not yet Ready=True.
hs.status = "Progressing"
if ready ~= nil then
  hs.message = describe(ready) .. sync_note
elseif synced ~= nil then
  hs.message = describe(synced)
elseif phase ~= nil then
  hs.message = phase
else
  hs.message = "Waiting for the operator to report status"
end
return hs
