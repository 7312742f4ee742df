-- Renew certificate: a value of the annotation the operator has not acted on yet (it keeps
-- the last one in status.certificateRenewalRequest) renews the cluster certificate once,
-- then refreshes the kubeconfig Secret.
local os = require("os")
local key = "nks.nhncloud.com/renew-certificate"
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
local done = nil
if obj.status ~= nil then
  done = obj.status.certificateRenewalRequest
end
local value = os.date("!%Y-%m-%dT%XZ")
-- Within the second of the last request the value would not be new.
while obj.metadata.annotations[key] == value or done == value do
  value = value .. " (again)"
end
obj.metadata.annotations[key] = value
return obj
