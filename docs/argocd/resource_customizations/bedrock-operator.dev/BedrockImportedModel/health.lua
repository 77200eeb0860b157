-- Argo CD health check for bedrock-operator.dev/BedrockImportedModel.
--
-- Argo CD runs this with the live object as `obj` and reads back `hs`: `status` (Healthy,
-- Progressing, Degraded, Suspended, Missing or Unknown) and `message`. It keys on the
-- operator's Ready and Synced conditions and their reasons (docs/reference.md), and trusts
-- them only once the operator has observed the current generation.
--
-- An imported model is made by a model import job: Ready is False with reason Creating while
-- the job is InProgress, True (Active) once the job Completed and the imported model exists,
-- and False with reason Failed when the job failed. An imported model never changes in place
-- (a new version of the weights is a new BedrockImportedModel), so there is no update to wait
-- for once it is Active.
--
-- Written for what Argo CD gives a script installed through argocd-cm: gopher-lua (Lua 5.1)
-- with only the base, table and package libraries (no string, no math, no os), every number a
-- float and every JSON null dropped. A missing or odd field never raises an error.
-- testkit/go/argocd-lua runs it the same way (docs/argocd.md).

-- A person has to act: the operator will not get there on its own.
local DEGRADED = {
  Failed = true,
  InvalidSpec = true,
  ImmutableFieldChanged = true,
  NameConflict = true,
  AccessDenied = true,
  QuotaExceeded = true,
  ValidationFailed = true,
  TooManyTags = true,
  ResourceNotFound = true,
}

-- The operator is retrying with backoff and needs nobody.
local TRANSIENT = {
  Throttled = true,
  BedrockUnavailable = true,
}

local function field(value, key)
  if type(value) == "table" then
    return value[key]
  end
  return nil
end

local function text(value)
  if type(value) == "string" then
    return value
  end
  return ""
end

-- A generation for a message. No string.format or math.floor: argocd-cm scripts have neither,
-- and tostring already writes a whole float such as 2.0 as "2" in Lua 5.1.
local function number_text(value)
  if value == nil then
    return "none"
  end
  return tostring(value)
end

local function find_condition(conditions, wanted)
  if type(conditions) ~= "table" then
    return nil
  end
  -- In any order, among entries of other types or shapes.
  for _, condition in pairs(conditions) do
    if type(condition) == "table" and condition.type == wanted then
      return condition
    end
  end
  return nil
end

-- The condition's message, else its reason, else `fallback`.
local function describe(condition, fallback)
  local message = text(field(condition, "message"))
  if message ~= "" then
    return message
  end
  local reason = text(field(condition, "reason"))
  if reason ~= "" then
    return reason
  end
  return fallback
end

-- True when `observed` belongs to the object's current generation.
local function current(observed, generation)
  if generation == nil then
    return true
  end
  return observed == generation
end

local function check(object)
  local metadata = field(object, "metadata")
  local generation = field(metadata, "generation")
  local status = field(object, "status")
  local conditions = field(status, "conditions")
  local ready = find_condition(conditions, "Ready")
  local synced = find_condition(conditions, "Synced")
  local ready_reason = text(field(ready, "reason"))
  local synced_reason = text(field(synced, "reason"))

  -- Argo CD never runs a health script on an object that is being deleted: it shows
  -- Progressing "Pending deletion" (gitops-engine's GetResourceHealth), DeletionBlocked
  -- included; that one shows in `kubectl get bim` and the conditions. Say the same here, so
  -- that the script agrees with Argo CD wherever it runs (Argo CD's own tests call it directly).
  if field(metadata, "deletionTimestamp") ~= nil then
    return "Progressing", "Pending deletion"
  end

  if type(status) ~= "table" then
    return "Progressing", "Waiting for the operator to report a status"
  end
  local observed = field(status, "observedGeneration")
  if not current(observed, generation) then
    return "Progressing", "Waiting for the operator to observe generation "
      .. number_text(generation) .. " (status.observedGeneration is " .. number_text(observed) .. ")"
  end
  if ready == nil then
    return "Progressing", "Waiting for the operator to report the Ready condition"
  end
  local ready_observed = field(ready, "observedGeneration")
  if not current(ready_observed, generation) then
    return "Progressing", "Waiting for the operator to observe generation "
      .. number_text(generation) .. " (the Ready condition is for generation "
      .. number_text(ready_observed) .. ")"
  end

  if DEGRADED[ready_reason] and ready.status ~= "True" then
    return "Degraded", describe(ready, ready_reason)
  end
  if DEGRADED[synced_reason] and field(synced, "status") ~= "True"
    and current(field(synced, "observedGeneration"), generation) then
    return "Degraded", describe(synced, synced_reason)
  end
  if TRANSIENT[synced_reason] and field(synced, "status") ~= "True" then
    return "Progressing", describe(synced, synced_reason)
  end
  if TRANSIENT[ready_reason] and ready.status ~= "True" then
    return "Progressing", describe(ready, ready_reason)
  end

  if ready.status == "True" then
    return "Healthy", describe(ready, "Ready")
  end
  if ready_reason == "Creating" or ready_reason == "Deleting" then
    return "Progressing", describe(ready, ready_reason)
  end
  if ready.status == "Unknown" then
    return "Progressing", describe(ready, "Waiting for the operator to decide on Ready")
  end
  return "Unknown", "Ready is " .. text(ready.status) .. " with a reason this check does not know ("
    .. ready_reason .. "): " .. describe(ready, "no message")
end

local hs = {}
hs.status, hs.message = check(obj)
return hs
