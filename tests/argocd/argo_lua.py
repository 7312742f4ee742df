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
function(keep_globals, keep_table, keep_package)
  local debug, pairs, ipairs, error, loadstring = debug, pairs, ipairs, error, loadstring
  local os_time, os_date = os.time, os.date

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

  return function(source, obj)
    local chunk, err = loadstring(source, "=health.lua")
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
    """One fresh Lua state set up as Argo CD's health-check state (see the module doc)."""

    def __init__(self) -> None:
        self.lua = lua51.LuaRuntime(unpack_returned_tuples=True)
        assert self.lua.eval("_VERSION") == "Lua 5.1"
        build = self.lua.eval(_BUILD)
        self._run = build(
            self.lua.table(*sorted(ARGO_GLOBALS)),
            self.lua.table(*sorted(TABLE_FUNCTIONS)),
            self.lua.table(*sorted(PACKAGE_FIELDS)),
        )

    def run(self, source: str, obj: dict[str, Any]) -> tuple[Any, list[str]]:
        """Run `source` as the main chunk with `obj` set; returns what it returned and the
        names of globals it created (Argo CD keeps no state between runs, but a global
        there is a typo'd local here)."""
        result, leaked = self._run(source, to_lua(self.lua, obj))
        return result, list(leaked.values())

    def type_of(self, value: Any) -> str:
        return str(self.lua.eval("type")(value))
