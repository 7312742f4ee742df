-- Argo CD resource actions of nks.nhncloud.com/NKSCluster (nks-operator): which are offered.
-- Pause and resume follow the nks.nhncloud.com/paused annotation as the operator reads it:
-- "true" in any capitalisation. Argo CD runs this without Lua's string library, so the
-- value is looked up among those spellings instead of being lower-cased.
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

local annotations = obj.metadata.annotations
local paused = annotations ~= nil and true_spellings[annotations["nks.nhncloud.com/paused"]] == true

local actions = {}
actions["pause"] = {
  ["disabled"] = paused,
  ["iconClass"] = "fa fa-fw fa-pause-circle",
  ["displayName"] = "Pause (send nothing to NKS)",
}
actions["resume"] = {
  ["disabled"] = not paused,
  ["iconClass"] = "fa fa-fw fa-play-circle",
  ["displayName"] = "Resume",
}
-- Re-reading NKS is allowed while paused: a paused resource keeps its status current.
actions["reconcile"] = {
  ["disabled"] = false,
  ["iconClass"] = "fa fa-fw fa-sync",
  ["displayName"] = "Reconcile now",
}
-- A paused cluster sends nothing to NKS, so a renewal asked for now would only wait there;
-- a cluster being deleted has no certificate worth renewing.
actions["renew-certificate"] = {
  ["disabled"] = paused or obj.metadata.deletionTimestamp ~= nil,
  ["iconClass"] = "fa fa-fw fa-certificate",
  ["displayName"] = "Renew certificate",
}
return actions
