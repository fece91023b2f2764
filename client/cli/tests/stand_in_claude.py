#!/usr/bin/env python3
"""A stand-in for Claude Code's `claude` command, as far as `claude-quota
setup claude-code` uses it: `claude mcp add --scope user NAME -- CMD ARGS...`
and `claude mcp remove --scope user NAME`. It edits `mcpServers` in the state
file where Claude Code keeps user-scope servers ($CLAUDE_CONFIG_DIR/.claude.json,
else ~/.claude.json), refuses what Claude Code refuses (adding a name that
exists, removing one that does not), and logs every call, one JSON array a
line, to $CLAUDE_STAND_IN_LOG.
"""

import json
import os
import sys

args = sys.argv[1:]
with open(os.environ["CLAUDE_STAND_IN_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")

base = os.environ.get("CLAUDE_CONFIG_DIR") or os.environ["HOME"]
path = os.path.join(base, ".claude.json")
try:
    with open(path) as f:
        state = json.load(f)
except FileNotFoundError:
    state = {}
servers = state.setdefault("mcpServers", {})

if args[:4] == ["mcp", "add", "--scope", "user"] and len(args) >= 7 and args[5] == "--":
    name = args[4]
    if name in servers:
        sys.exit(f"MCP server {name} already exists in user config")
    servers[name] = {"type": "stdio", "command": args[6], "args": args[7:], "env": {}}
elif args[:4] == ["mcp", "remove", "--scope", "user"] and len(args) == 5:
    name = args[4]
    if name not in servers:
        sys.exit(f"No user-scoped MCP server found with name: {name}")
    del servers[name]
else:
    sys.exit(f"the stand-in does not know: claude {' '.join(args)}")

with open(path, "w") as f:
    json.dump(state, f, indent=2)
