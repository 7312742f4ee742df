"""Tests of the Argo CD integration: health checks (Lua) and the docs that embed them."""
