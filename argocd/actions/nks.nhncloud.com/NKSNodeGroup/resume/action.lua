-- Resume: remove the pause annotation.
local annotations = obj.metadata.annotations
if annotations ~= nil then
  annotations["nks.nhncloud.com/paused"] = nil
  -- Argo CD encodes an empty table as [] and then restores the old value of a map that
  -- came back as [] (cleanReturnedObj), which would bring the annotation back: with no
  -- annotation left, drop the map itself.
  if next(annotations) == nil then
    obj.metadata.annotations = nil
  end
end
return obj
