"""A stand-in for claude-quotad: speaks protocol v1 on a Unix socket and
says yes to the cloud for every task but ``routine``. Tests use it as the
hostile or slow peer a real daemon never is: run as another user, or
answering its first question late (``sys.argv[2]`` seconds).

Usage: python3 -c "$SCRIPT" SOCKET [DELAY_FIRST_SECONDS]
"""

import json
import socket
import struct
import sys
import threading
import time

PREFIX = struct.Struct(">I")
first_question = threading.Lock()


def read_exactly(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def answer(request):
    kind = request.get("type")
    common = {"tier": "burst", "reason": "stand-in", "stale": False}
    if kind == "hello":
        return {"type": "hello", "protocol": 1, "daemon": "stand-in/0"}
    if kind == "should_use_cloud":
        return dict(common, type="decision", use_cloud=request.get("task_value") != "routine")
    if kind == "select_model":
        return dict(common, type="model", model="claude-opus-4-1", provider="anthropic", available=True)
    return {"type": "error", "code": "internal", "message": "the stand-in answers no " + str(kind)}


def serve(conn, delay_first):
    with conn:
        while True:
            prefix = read_exactly(conn, PREFIX.size)
            if prefix is None:
                return
            body = read_exactly(conn, PREFIX.unpack(prefix)[0])
            if body is None:
                return
            if first_question.acquire(blocking=False):
                time.sleep(delay_first)
            payload = json.dumps(answer(json.loads(body))).encode()
            try:
                conn.sendall(PREFIX.pack(len(payload)) + payload)
            except OSError:
                return  # the client gave up on this connection


def main():
    delay_first = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sys.argv[1])
    server.listen(16)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn, delay_first), daemon=True).start()


main()
