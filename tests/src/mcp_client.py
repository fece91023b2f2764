"""A real MCP client for tests/tests/mcp.rs: the MCP Python SDK's stdio
client runs `claude-quota mcp` and relays what the test asks.

Usage: python mcp_client.py CLAUDE_QUOTA_BIN SOCKET

One JSON command a line on stdin, one JSON answer a line on stdout:
  {"op": "list_tools"}
      -> {"instructions": str, "tools": [{"name", "description", "input_schema", "output_schema"}]}
  {"op": "call", "name": NAME, "arguments": {...}}
      -> {"is_error": bool, "text": str, "structured": value}
         (the SDK checks a success against the tool's output schema)
      or {"protocol_error": str} when the server answers with a JSON-RPC error
Ends when stdin closes, closing the server's stdin; the server's stderr
goes to this process's stderr.
"""

import json
import os
import sys

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError


def emit(answer):
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


async def main(binary, socket):
    # The server's warnings (a call of an unknown tool, say) would land
    # in the test's output; RUST_LOG set for the test still counts.
    env = {"RUST_LOG": os.environ.get("RUST_LOG", "error")}
    server = StdioServerParameters(command=binary, args=["mcp", "--socket", socket], env=env)
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            while True:
                line = await anyio.to_thread.run_sync(sys.stdin.readline)
                if not line:
                    return
                command = json.loads(line)
                if command["op"] == "list_tools":
                    listed = await session.list_tools()
                    emit({
                        "instructions": init.instructions,
                        "tools": [
                            {
                                "name": tool.name,
                                "description": tool.description,
                                "input_schema": tool.input_schema,
                                "output_schema": tool.output_schema,
                            }
                            for tool in listed.tools
                        ],
                    })
                elif command["op"] == "call":
                    try:
                        result = await session.call_tool(command["name"], command.get("arguments"))
                    except MCPError as err:
                        emit({"protocol_error": str(err)})
                        continue
                    emit({
                        "is_error": result.is_error,
                        "text": "".join(getattr(block, "text", "") for block in result.content),
                        "structured": result.structured_content,
                    })
                else:
                    raise SystemExit(f"unknown op: {command['op']}")


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2])
