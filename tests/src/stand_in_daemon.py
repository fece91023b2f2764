"""The scripted stand-in for claude-quotad that every client's conformance
suite runs against (Rust: tests/tests/conformance.rs, Python:
client/python/tests/test_conformance.py, Node:
client/node/test/conformance.test.cjs): one program, so the three clients
meet the same daemon, byte for byte.

It plays the daemon of one case of tests/conformance/cases.json (a route
case, a call case, or "headers" for the header fixtures): it answers
each request frame as the case's script says (a reply, late or never, raw
bytes, a close, a reset) and reports on stdout, one JSON object a line,
what it saw, so a suite can check how many frames a call cost:

    {"event": "ready", "socket": PATH}
    {"event": "frame", "connection": N, "message": {...}, "pipelined": BOOL}
    {"event": "unavailable", "why": TEXT}     (a case it cannot play here)

Usage: python3 stand_in_daemon.py CASES_JSON CASE_NAME DIRECTORY

The socket is made in DIRECTORY. A case whose daemon runs as another user
(`"owner": "other"` or `"other_behind_your_socket"`) needs root: the
stand-in binds as root, then becomes `nobody` before it listens, so that
the peer credentials a client reads are nobody's.
"""

import json
import os
import select
import socket
import struct
import sys
import threading
import time

PREFIX = struct.Struct(">I")
MAX_FRAME_LEN = 64 * 1024
NOBODY = 65534
SOCKET_NAME = "claude-quotad.sock"
#: How long the stand-in waits after a hello for the request pipelined
#: behind it before answering the hello alone.
PIPELINE_WAIT = 0.3
#: How long a "reset" waits for the frame it leaves unread.
RESET_WAIT = 1.0

printing = threading.Lock()


def report(**event):
    with printing:
        print(json.dumps(event), flush=True)


def find_case(cases, name):
    """The daemon script of case `name`, with the file's default hello."""
    if name == "headers":
        daemon = cases["header_daemon"]
    else:
        every = cases["route_cases"] + cases["call_cases"]
        matches = [case for case in every if case["name"] == name]
        if len(matches) != 1 or matches[0].get("daemon") is None:
            sys.exit(f"no case {name!r} with a daemon in the cases file")
        daemon = matches[0]["daemon"]
    return dict({"hello": {"reply": cases["hello"]}}, **daemon)


def read_exactly(conn, size):
    """`size` bytes, or None when the client closed (or reset: it dropped
    the connection with a reply of ours unread)."""
    data = b""
    while len(data) < size:
        try:
            chunk = conn.recv(size - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def read_frame(conn):
    """The next frame's payload, or None when the client closed or the
    frame is too large to read."""
    prefix = read_exactly(conn, PREFIX.size)
    if prefix is None:
        return None
    (length,) = PREFIX.unpack(prefix)
    if length > MAX_FRAME_LEN:
        return None
    return read_exactly(conn, length)


def readable(conn, wait):
    return bool(select.select([conn], [], [], wait)[0])


def perform(conn, action):
    """Carries out one action; False when the connection is done."""
    time.sleep(action.get("delay_ms", 0) / 1000)
    if action.get("reset"):
        # Closing with a frame unread makes the kernel report a reset.
        readable(conn, RESET_WAIT)
        return False
    try:
        if "reply" in action:
            payload = json.dumps(action["reply"], ensure_ascii=False).encode()
            conn.sendall(PREFIX.pack(len(payload)) + payload)
        if "raw" in action:
            conn.sendall(bytes.fromhex(action["raw"]))
    except OSError:
        return False  # the client gave up on this connection
    return not action.get("close")


def serve(conn, number, daemon):
    script = daemon.get("connections", [])
    actions = list(script[number - 1]) if number <= len(script) else []
    otherwise = daemon.get("otherwise", {"reply": {"type": "error", "code": "internal", "message": "unscripted"}})
    pending = []
    silent = False

    def take():
        """The next frame's message, reported as it is read; False when
        the client is gone."""
        payload = read_frame(conn)
        if payload is None:
            return False
        try:
            message = json.loads(payload)
        except ValueError:
            message = None
        event = {"event": "frame", "connection": number, "message": message}
        if kind_of(message) == "hello":
            event["pipelined"] = readable(conn, PIPELINE_WAIT)
        report(**event)
        return message

    with conn:
        while True:
            message = pending.pop(0) if pending else take()
            if message is False:
                return
            if kind_of(message) == "hello":
                action = daemon["hello"]
                # Read (and report) what came with the hello before
                # answering it, so a client that gives up on the answer
                # cannot leave its request unreported. A reset must leave
                # it unread.
                while not action.get("reset") and readable(conn, 0):
                    following = take()
                    if following is False:
                        break
                    pending.append(following)
            else:
                action = actions.pop(0) if actions else otherwise
            silent = silent or bool(action.get("silent"))
            if not silent and not perform(conn, action):
                return


def kind_of(message):
    return message.get("type") if isinstance(message, dict) else None


def listen(daemon, directory):
    """The listening socket, as the case's owner; None when that owner
    cannot be played here."""
    owner = daemon.get("owner", "you")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if owner == "you":
        path = os.path.join(directory, SOCKET_NAME)
        server.bind(path)
    else:
        if os.geteuid() != 0:
            report(event="unavailable", why="a daemon of another user needs root to play")
            return None
        if owner == "other":
            # The user's own socket directory and socket, as nobody makes them.
            home = os.path.join(directory, "other")
            os.mkdir(home, 0o700)
            os.chown(home, NOBODY, NOBODY)
            path = os.path.join(home, SOCKET_NAME)
            server.bind(path)
            os.chown(path, NOBODY, NOBODY)
        elif owner == "other_behind_your_socket":
            # A socket file and directory of yours, served by nobody's
            # process: what only the peer's credentials reveal.
            path = os.path.join(directory, SOCKET_NAME)
            server.bind(path)
        else:
            sys.exit(f"unknown owner {owner!r}")
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    server.listen(16)
    report(event="ready", socket=path)
    return server


def main():
    cases_path, name, directory = sys.argv[1:4]
    with open(cases_path, encoding="utf-8") as file:
        daemon = find_case(json.load(file), name)
    server = listen(daemon, directory)
    if server is None:
        return
    number = 0
    while True:
        conn, _ = server.accept()
        number += 1
        threading.Thread(target=serve, args=(conn, number, daemon), daemon=True).start()


main()
