"""Runnel's MCP test server (PyPI `mcp<2`, FastMCP): stdio by default, or
Streamable HTTP on 127.0.0.1:PORT/mcp with `--http PORT`. Extra `--tag X`
arguments are accepted and ignored (tests find their servers by them).

Tools: add, echo, slow, crash (the process dies mid-call), fail (an error
result), pid (the server's process id), getenv (a variable of its
environment), tiny_image (a 1x1 PNG).
"""

import argparse
import asyncio
import base64
import os
import sys

from mcp.server.fastmcp import FastMCP, Image

# A valid 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)

parser = argparse.ArgumentParser()
parser.add_argument("--http", type=int, default=None)
parser.add_argument("--tag", default=None)
args = parser.parse_args()

mcp = FastMCP("runnel-test", host="127.0.0.1", port=args.http or 8000, log_level="WARNING")


@mcp.tool()
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@mcp.tool()
def echo(text: str) -> str:
    """Returns the text as it came."""
    return text


@mcp.tool()
async def slow(seconds: float) -> str:
    """Waits this many seconds, then says done."""
    await asyncio.sleep(seconds)
    return "done"


@mcp.tool()
def crash() -> str:
    """The server dies in the middle of the call."""
    sys.stderr.write("runnel-test-mcp: crashing on purpose\n")
    sys.stderr.flush()
    os._exit(3)


@mcp.tool()
def fail(reason: str) -> str:
    """Always fails with the reason given."""
    raise RuntimeError(reason)


@mcp.tool()
def pid() -> str:
    """The server's process id."""
    return str(os.getpid())


@mcp.tool()
def getenv(name: str) -> str:
    """The value of an environment variable of the server ("" when unset)."""
    return os.environ.get(name, "")


@mcp.tool()
def tiny_image() -> Image:
    """A 1x1 PNG image."""
    return Image(data=PNG, format="png")


if __name__ == "__main__":
    sys.stderr.write(f"runnel-test-mcp: started pid={os.getpid()}\n")
    sys.stderr.flush()
    mcp.run("streamable-http" if args.http else "stdio")
