-- Pause: the operator keeps observing and reporting, but sends nothing to NKS (deletion
-- waits too) until the annotation goes.
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["nks.nhncloud.com/paused"] = "true"
return obj
