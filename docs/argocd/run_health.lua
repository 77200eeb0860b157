-- Runs health.lua the way Argo CD does, outside Argo CD: the object (JSON on stdin) becomes the
-- global `obj`, the script runs with only the libraries Argo CD's sandbox offers (no io, no os),
-- and the table it returns is printed as JSON: {"status": "...", "message": "..."}.
--
--   kubectl get bcm NAME -o json | lua5.4 docs/argocd/run_health.lua
--   lua5.4 docs/argocd/run_health.lua path/to/health.lua < object.json
--
-- Needs Lua 5.4 and lua-cjson (Debian: lua5.4 lua-cjson). Exits 1 with a reason on stderr if the
-- script fails or returns something Argo CD would not accept.

local cjson = require("cjson")

local STATUSES = {
  Healthy = true,
  Progressing = true,
  Degraded = true,
  Suspended = true,
  Missing = true,
  Unknown = true,
}

local function fail(message)
  io.stderr:write("run_health: ", message, "\n")
  os.exit(1)
end

-- Argo CD hands the script an object without JSON nulls (they are absent fields in Lua).
local function without_nulls(value)
  if value == cjson.null then
    return nil
  end
  if type(value) == "table" then
    for key, inner in pairs(value) do
      value[key] = without_nulls(inner)
    end
  end
  return value
end

local here = (arg and arg[0] or ""):match("^(.*[/\\])") or ""
local script = (arg and arg[1]) or (here .. "health.lua")

local input = io.read("a")
local ok, decoded = pcall(cjson.decode, input or "")
if not ok then
  fail("stdin is not JSON: " .. tostring(decoded))
end

local sandbox = {
  obj = without_nulls(decoded),
  assert = assert,
  error = error,
  ipairs = ipairs,
  next = next,
  pairs = pairs,
  pcall = pcall,
  select = select,
  tonumber = tonumber,
  tostring = tostring,
  type = type,
  unpack = table.unpack,
  math = math,
  string = string,
  table = table,
}

local chunk, load_error = loadfile(script, "t", sandbox)
if chunk == nil then
  fail("cannot load " .. script .. ": " .. tostring(load_error))
end
local ran, hs = pcall(chunk)
if not ran then
  fail(script .. " raised an error: " .. tostring(hs))
end
if type(hs) ~= "table" then
  fail(script .. " returned " .. type(hs) .. ", not a table")
end
if not STATUSES[hs.status] then
  fail(script .. " returned status " .. tostring(hs.status) .. ", which Argo CD does not know")
end
if hs.message ~= nil and type(hs.message) ~= "string" then
  fail(script .. " returned a " .. type(hs.message) .. " message, not a string")
end

print(cjson.encode({ status = hs.status, message = hs.message or "" }))
