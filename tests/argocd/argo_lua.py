"""Lua run the way Argo CD runs a health check from `argocd-cm`, in lupa's Lua 5.1.

Argo CD (argo-cd `util/lua/lua.go`, `runLuaWithResourceActionParameters`; read at commit
37ee0097 of argoproj/argo-cd, gopher-lua v1.1.2 per its go.mod) builds a fresh gopher-lua state
for every check with `lua.NewState(lua.Options{SkipOpenLibs: !vm.UseOpenLibs})`.
`UseOpenLibs` comes from the `resource.customizations.useOpenLibs.<group>_<kind>` key and is
false unless a user sets it (only Argo CD's built-in scripts get the open libraries). It
then opens exactly:

- `package` (`lua.OpenPackage`): `package.loaders` holds gopher-lua's two loaders (preload,
  Lua file), `package.loaded` the modules opened after it (`_G`, `table`);
- the base functions (`lua.OpenBase`), plus `_GOPHER_LUA_VERSION`;
- `table` (`lua.OpenTable`: concat, getn, insert, maxn, remove, sort);
- a "safe os" (`OpenSafeOs` in `util/lua/oslib_safe.go`): it registers its functions under
  `lua.TabLibName`, which `OpenTable` already registered, so gopher-lua's `RegisterModule`
  returns the existing `table` and no global `os` exists. Only `require("os")` works, through
  `l.PreloadModule(lua.OsLibName, SafeOsLoader)`, and yields `{time, date}`.

It sets the globals `actionParams` (an empty table for a health check) and `obj` (the live
object decoded from JSON) and runs the script as the main chunk. There is no `string`,
`math`, `io`, `debug` or `coroutine` library, and because gopher-lua installs the string
metatable only in `OpenString`, string methods fail too: `("x"):lower()` is "attempt to index
a non-table object(string) with key 'lower'" there. These facts were checked by running a
probe script and both versions of our health.lua in gopher-lua v1.1.2 set up as above.

`ArgoLua` reproduces that environment in PUC Lua 5.1: it removes everything else from the
globals, from `package` and from `table`, and removes the string metatable. The one name it
cannot offer is gopher-lua's `_printregs` (a debugging aid that dumps VM registers).
"""

from __future__ import annotations

from typing import Any

from lupa import lua51

# Globals of Argo CD's health-check state (gopher-lua OpenBase + OpenPackage + OpenTable),
# before `obj` and `actionParams` are set. `_printregs` is left out (see the module doc).
ARGO_GLOBALS = frozenset(
    {
        "_G",
        "_GOPHER_LUA_VERSION",
        "_VERSION",
        "assert",
        "collectgarbage",
        "dofile",
        "error",
        "getfenv",
        "getmetatable",
        "ipairs",
        "load",
        "loadfile",
        "loadstring",
        "module",
        "newproxy",
        "next",
        "package",
        "pairs",
        "pcall",
        "print",
        "rawequal",
        "rawget",
        "rawset",
        "require",
        "select",
        "setfenv",
        "setmetatable",
        "table",
        "tonumber",
        "tostring",
        "type",
        "unpack",
        "xpcall",
    }
)
TABLE_FUNCTIONS = frozenset({"concat", "getn", "insert", "maxn", "remove", "sort"})
PACKAGE_FIELDS = frozenset(
    {"config", "cpath", "loaded", "loaders", "loadlib", "path", "preload", "seeall"}
)
SAFE_OS_FUNCTIONS = frozenset({"date", "time"})

# Runs once in a fresh PUC Lua state and turns it into Argo CD's; returns the function
# that runs a script there. Everything it needs is captured before the globals go.
_BUILD = """
function(keep_globals, keep_table, keep_package, clock)
  local debug, pairs, ipairs, error, loadstring = debug, pairs, ipairs, error, loadstring
  local os_time, os_date = os.time, os.date
  if clock ~= nil then
    -- A fixed "now", so that what an action writes can be compared with a file.
    local real_time, real_date = os_time, os_date
    os_time = function(t) if t == nil then return clock end return real_time(t) end
    os_date = function(format, t) if t == nil then t = clock end return real_date(format, t) end
  end

  -- gopher-lua gives strings a metatable only in OpenString, which Argo CD never calls.
  debug.setmetatable("", nil)

  local function set(list)
    local result = {}
    for _, name in ipairs(list) do result[name] = true end
    return result
  end
  keep_globals, keep_table, keep_package = set(keep_globals), set(keep_table), set(keep_package)

  for name in pairs(table) do
    if not keep_table[name] then table[name] = nil end
  end

  for name in pairs(package) do
    if not keep_package[name] then package[name] = nil end
  end
  package.cpath = ""
  package.loadlib = function() error("loadlib is not supported", 2) end
  for index = #package.loaders, 3, -1 do package.loaders[index] = nil end  -- C loaders
  for name in pairs(package.preload) do package.preload[name] = nil end
  package.preload.os = function() return {time = os_time, date = os_date} end
  -- package.loaded is the registry's _LOADED that `require` reads: edit it in place.
  for name in pairs(package.loaded) do
    if name ~= "_G" and name ~= "table" then package.loaded[name] = nil end
  end

  for name in pairs(_G) do
    if not keep_globals[name] then _G[name] = nil end
  end
  _G._GOPHER_LUA_VERSION = "GopherLua 0.1"

  return function(source, obj, name)
    local chunk, err = loadstring(source, "=" .. name)
    if chunk == nil then error(err, 0) end
    _G.actionParams = {}
    _G.obj = obj
    local before = {}
    for name in pairs(_G) do before[name] = true end
    local result = chunk()
    local leaked = {}
    for name in pairs(_G) do
      if not before[name] then leaked[#leaked + 1] = name end
    end
    return result, leaked
  end
end
"""


def to_lua(lua: Any, value: Any) -> Any:
    """A JSON-like value as Argo CD's `decodeValue` hands it to gopher-lua: objects and
    arrays become tables (arrays 1-based), null becomes nil, numbers and strings stay."""
    if isinstance(value, dict):
        table = lua.table()
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"non-string object key {key!r}: JSON has none")
            if item is not None:
                table[key] = to_lua(lua, item)
        return table
    if isinstance(value, list):
        table = lua.table()
        for index, item in enumerate(value, start=1):
            if item is not None:
                table[index] = to_lua(lua, item)
        return table
    if isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"{type(value).__name__} cannot come from JSON: {value!r}")


class ArgoLua:
    """One fresh Lua state set up as Argo CD's health-check state (see the module doc);
    with `clock` (seconds since the epoch), `os.time()` and `os.date()` read that instant."""

    def __init__(self, clock: int | None = None) -> None:
        self.lua = lua51.LuaRuntime(unpack_returned_tuples=True)
        assert self.lua.eval("_VERSION") == "Lua 5.1"
        build = self.lua.eval(_BUILD)
        self._run = build(
            self.lua.table(*sorted(ARGO_GLOBALS)),
            self.lua.table(*sorted(TABLE_FUNCTIONS)),
            self.lua.table(*sorted(PACKAGE_FIELDS)),
            clock,
        )

    def run(
        self, source: str, obj: dict[str, Any], name: str = "health.lua"
    ) -> tuple[Any, list[str]]:
        """Run `source` as the main chunk with `obj` set; returns what it returned and the
        names of globals it created (Argo CD keeps no state between runs, but a global
        there is a typo'd local here)."""
        result, leaked = self._run(source, to_lua(self.lua, obj), name)
        return result, list(leaked.values())

    def run_action(self, source: str, obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """An action script as Argo CD runs it (`ExecuteResourceAction`): the table it
        returns, encoded as JSON the way gopher-json does, with Argo CD's clean-up of
        empty tables against the live object applied."""
        result, leaked = self.run(source, obj, "action.lua")
        if self.type_of(result) != "table":
            raise LuaActionError(f"an action must return a table, not {self.type_of(result)}")
        new = from_lua(self, result)
        if not isinstance(new, dict):
            raise LuaActionError(f"an action must return an object, not {new!r}")
        return clean_returned_obj(new, obj), leaked

    def discover(self, source: str, obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """A discovery script as Argo CD runs it: a table of action name -> its settings."""
        result, leaked = self.run(source, obj, "discovery.lua")
        found = from_lua(self, result)
        if not isinstance(found, dict):
            raise LuaActionError(f"discovery must return a table of actions, not {found!r}")
        return found, leaked

    def type_of(self, value: Any) -> str:
        return str(self.lua.eval("type")(value))


class LuaActionError(AssertionError):
    """What Argo CD would refuse: a script returning something gopher-json cannot encode,
    or not a table."""


def from_lua(argo: ArgoLua, value: Any) -> Any:
    """A Lua value as gopher-json (layeh.com/gopher-json `Encode`, used by Argo CD's
    `ExecuteResourceAction`) writes it: an empty table is `[]`, a table whose first key is
    a number must be the array 1..n, one whose first key is a string must have only string
    keys (an object); numbers, strings, booleans stay; functions cannot be encoded."""
    kind = argo.type_of(value)
    if kind in ("string", "boolean", "number"):
        return value
    if kind == "nil":
        return None
    if kind != "table":
        raise LuaActionError(f"gopher-json cannot encode a {kind}")
    items = list(value.items())
    if not items:
        return []
    keys = [key for key, _ in items]
    if all(isinstance(key, str) for key in keys):
        return {key: from_lua(argo, item) for key, item in items}
    if all(isinstance(key, int | float) for key in keys):
        if sorted(keys) != list(range(1, len(keys) + 1)):
            raise LuaActionError(f"sparse array: keys {sorted(keys)}")
        return [from_lua(argo, value[index]) for index in range(1, len(keys) + 1)]
    raise LuaActionError(f"a table mixing number and string keys: {keys}")


def clean_returned_obj(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """Argo CD's `cleanReturnedObj` (util/lua/lua.go): where the live object had a map and
    the script's answer has an empty array (gopher-json's empty table), the live map is put
    back - so a script cannot empty a map by removing its last key."""
    for key, old_value in old.items():
        if key not in new:
            continue
        new_value = new[key]
        if isinstance(new_value, dict) and isinstance(old_value, dict):
            new[key] = clean_returned_obj(new_value, old_value)
        elif isinstance(new_value, list):
            if isinstance(old_value, dict) and not new_value:
                new[key] = old_value
            elif isinstance(old_value, list):
                new[key] = _clean_returned_array(new_value, old_value)
    return new


def _clean_returned_array(new: list[Any], old: list[Any]) -> list[Any]:
    """Argo CD's `cleanReturnedArray`: the same, item by item."""
    for index, (new_value, old_value) in enumerate(zip(new, old, strict=False)):
        if isinstance(new_value, dict) and isinstance(old_value, dict):
            new[index] = clean_returned_obj(new_value, old_value)
        elif isinstance(new_value, list) and isinstance(old_value, list):
            new[index] = _clean_returned_array(new_value, old_value)
    return new
