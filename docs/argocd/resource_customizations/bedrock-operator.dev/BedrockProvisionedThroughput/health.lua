-- Argo CD health check for bedrock-operator.dev/BedrockProvisionedThroughput.
--
-- Argo CD runs this with the live object as `obj` and reads back `hs`: `status` (Healthy,
-- Progressing, Degraded, Suspended, Missing or Unknown) and `message`. It keys on the
-- operator's Ready and Synced conditions and their reasons (docs/reference.md), and on
-- status.throughputStatus, and trusts them only once the operator has observed the current
-- generation.
--
-- A throughput stays Ready (True, serving the previous model) while Bedrock swaps its model in
-- place, so Ready alone would call a swap Healthy: an update in progress (Synced reason
-- Updating, or status.throughputStatus Updating) is Progressing until it completes.
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
  UpdateFailed = true,
  -- The spec.export ConfigMap's name is taken by a ConfigMap that is not this resource's: it
  -- serves (Ready stays True), but apps get nothing until that ConfigMap or the name changes.
  ExportConflict = true,
  -- A committed throughput disappeared outside the operator: buying it again would start a
  -- new term, so the operator waits for the retry annotation.
  ThroughputMissing = true,
  -- The referenced BedrockCustomModel failed in Bedrock, or is being deleted: the throughput
  -- cannot get the model its spec names until the spec (or that model) changes.
  ModelFailed = true,
  ModelDeleting = true,
}

-- The operator gets there on its own: it retries with backoff, or waits for the referenced
-- BedrockCustomModel (importing, or not applied yet) and moves on when that model changes.
local TRANSIENT = {
  Throttled = true,
  BedrockUnavailable = true,
  ModelNotReady = true,
  ModelNotFound = true,
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

-- `prefix .. value` when value is a non-empty string, else `fallback`.
local function named(prefix, value, fallback)
  local given = text(value)
  if given ~= "" then
    return prefix .. given
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
  local synced_current = synced ~= nil and current(field(synced, "observedGeneration"), generation)
  local synced_false = synced ~= nil and field(synced, "status") ~= "True"

  -- Argo CD never runs a health script on an object that is being deleted: it shows
  -- Progressing "Pending deletion" (gitops-engine's GetResourceHealth). That includes a
  -- committed throughput whose deletion waits for the end of its term (Synced DeletionBlocked,
  -- the date in its message and in `kubectl get bpt`'s Commitment ends column), however long
  -- that is. Say the same here, so that the script agrees with Argo CD wherever it runs (Argo
  -- CD's own tests call it directly).
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
  -- Synced carries what goes wrong while Ready stays True on the model being served: a
  -- referenced model that failed or is being deleted, an error of a tag change.
  if DEGRADED[synced_reason] and synced_false and synced_current then
    return "Degraded", describe(synced, synced_reason)
  end
  -- A swap (or rename) in progress: Ready is True on the previous model until Bedrock
  -- completes it.
  if synced_reason == "Updating" and synced_current then
    return "Progressing", describe(synced, "Bedrock is updating the provisioned throughput")
  end
  if TRANSIENT[synced_reason] and synced_false then
    return "Progressing", describe(synced, synced_reason)
  end
  if TRANSIENT[ready_reason] and ready.status ~= "True" then
    return "Progressing", describe(ready, ready_reason)
  end
  -- Bedrock reports an update in progress that the conditions do not (yet) speak of.
  if field(status, "throughputStatus") == "Updating" then
    return "Progressing", "Bedrock is updating "
      .. named("provisioned throughput ", field(status, "provisionedModelName"), "the provisioned throughput")
      .. named(" (to model ", field(status, "desiredModelArn"), " (to another model")
      .. "); it serves " .. named("", field(status, "modelArn"), "the previous model")
      .. " until then"
  end

  if ready.status == "True" then
    return "Healthy", describe(ready, "Ready")
  end
  if ready_reason == "Creating" then
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
