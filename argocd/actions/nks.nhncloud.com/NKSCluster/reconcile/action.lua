-- Reconcile now: any new value of the annotation makes the operator re-read NKS at once
-- instead of at the next resync.
local os = require("os")
local key = "nks.nhncloud.com/reconcile-requested-at"
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
local value = os.date("!%Y-%m-%dT%XZ")
-- Twice within a second would write the same value, which the operator ignores.
if obj.metadata.annotations[key] == value then
  value = value .. " (again)"
end
obj.metadata.annotations[key] = value
return obj
