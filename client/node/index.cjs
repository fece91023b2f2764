"use strict";
/**
 * A client for claude-quotad, the daemon that tells AI-agent routers whether
 * a task may spend the Claude subscription or must stay on a local model.
 *
 * No runtime dependencies (Node >= 18), so a router can vendor this one
 * file. Ask before every model call; answers come from the daemon's memory:
 *
 *     const { route } = require("claude-quota");
 *     const choice = await route("high", "medium");
 *     // choice.provider is "anthropic" or "ollama", choice.model the model
 *
 * `route` never throws for a missing or failing daemon: it answers local,
 * because spending the subscription on a guess is the one unsafe answer.
 * `Client` offers the whole protocol (status, decisions, subscriptions,
 * readings from response headers). Names and errors mirror the Python
 * client `claude_quota.py`.
 *
 * The wire protocol (version 1): each frame is a 4-byte big-endian length,
 * then that many bytes of UTF-8 JSON, at most 64 KiB; every message has a
 * `"type"`.
 */

const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");

const VERSION = "0.1.0";

/** The protocol version this client speaks; the daemon refuses any other. */
const PROTOCOL_VERSION = 1;

/** The largest frame either side accepts, in bytes of JSON. */
const MAX_FRAME_LEN = 64 * 1024;

/** How much a task is worth, from "worth the cloud" to "never the cloud". */
const TASK_VALUES = Object.freeze(["critical", "high", "medium", "low", "routine"]);

/** How hard a task is, which decides how large a model it needs. */
const TASK_COMPLEXITIES = Object.freeze(["high", "medium", "low"]);

/** Milliseconds a request may wait for its answer. Answers come from memory;
 * only `refresh` waits on the network. */
const DEFAULT_TIMEOUT_MS = 15000;

/** Milliseconds `route` waits for the daemon before it answers local. */
const ROUTE_TIMEOUT_MS = 2000;

/** The environment variable that overrides the socket path everywhere. */
const SOCKET_ENV = "CLAUDE_QUOTA_SOCKET";

/** The local model `route` answers when the daemon cannot: the contract's
 * default large local model, which the daemon itself answers in `unknown`. */
const FALLBACK_LOCAL_MODEL = "qwen3:14b";

const SOCKET_NAME = "claude-quotad.sock";
const PREFIX_LEN = 4;
// `sun_path` holds 104 bytes on macOS, including the terminating NUL.
const MACOS_MAX_SOCKET_PATH = 103;
const HEADER_PREFIX = "anthropic-ratelimit-unified-";
// Frames read ahead of their reader before the socket is paused.
const MAX_QUEUED_FRAMES = 16;

/** Base of every error this module throws, so a router can catch them all in
 * one place and stay local. */
class ClaudeQuotaError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No daemon answered (not running, wrong socket, owned by another user, or
 * too slow): route locally, and start it with `claude-quotad` or
 * `claude-quota service install`. */
class DaemonUnreachable extends ClaudeQuotaError {}

/** The socket file belongs to another user, whose process could answer
 * anything: route locally, and find out who it is. A socket directory only
 * you can write keeps this from happening. `uid` is the other user's. */
class WrongOwner extends DaemonUnreachable {
  constructor(socket, uid) {
    super(
      `refusing the daemon at ${socket}: its socket belongs to uid ${uid}, not to you ` +
        `(uid ${process.getuid()}); another user's process may be answering for claude-quotad`,
    );
    this.uid = uid;
  }
}

/** The connection broke or the daemon sent something that is not protocol
 * v1; the connection is dropped and the next call reconnects. */
class ProtocolError extends ClaudeQuotaError {}

/** The request was malformed: a bug in the caller, not a daemon fault.
 * Thrown before sending for values this module can check itself. */
class BadRequest extends ClaudeQuotaError {}

/** The daemon refused the request for a reason other than its shape; `code`
 * is the protocol's machine-readable error code. */
class DaemonError extends ClaudeQuotaError {
  constructor(code, message) {
    super(`claude-quotad refused the request (${code}): ${message}`);
    this.code = code;
    this.detail = message;
  }
}

/**
 * The socket the daemon listens on unless told otherwise, resolved as the
 * daemon and the other clients do, so nobody has to pass a path:
 * `$CLAUDE_QUOTA_SOCKET`, else `$XDG_RUNTIME_DIR/claude-quota/` on Linux or
 * `~/Library/Application Support/claude-quota/` on macOS, else a per-user
 * directory under `$TMPDIR` (or `/tmp`).
 */
function defaultSocketPath(env = process.env) {
  if (env[SOCKET_ENV]) return env[SOCKET_ENV];
  const directory =
    platformDir(env) ?? path.join(env.TMPDIR || "/tmp", `claude-quota-${process.getuid()}`);
  return path.join(directory, SOCKET_NAME);
}

function platformDir(env) {
  if (process.platform === "darwin") {
    if (!env.HOME) return null;
    const directory = path.join(env.HOME, "Library/Application Support/claude-quota");
    const socket = path.join(directory, SOCKET_NAME);
    return Buffer.byteLength(socket) <= MACOS_MAX_SOCKET_PATH ? directory : null;
  }
  return env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, "claude-quota") : null;
}

/** Refuses a name the daemon would refuse, without a round trip, with the
 * same list of choices the daemon gives. */
function check(kind, given, allowed) {
  if (!allowed.includes(given)) {
    throw new BadRequest(`unknown ${kind} ${JSON.stringify(given)}; expected one of: ${allowed.join(" ")}`);
  }
  return given;
}

/**
 * Refuses a socket file owned by another user before connecting to it. Node
 * cannot read a Unix socket's peer credentials (`SO_PEERCRED` /
 * `getpeereid`), so the owner of the socket file is the check it can do: the
 * daemon creates its socket 0600 in a 0700 directory of its own user, so a
 * file of another owner is not our daemon.
 */
function checkSocketOwner(socket) {
  if (typeof process.getuid !== "function") return;
  let owner;
  try {
    owner = fs.statSync(socket).uid;
  } catch (err) {
    throw unreachable(socket, err);
  }
  if (owner !== process.getuid()) throw new WrongOwner(socket, owner);
}

function unreachable(socket, err) {
  return new DaemonUnreachable(
    `cannot reach claude-quotad at ${socket} (${err.code || err.message}); ` +
      "start it with `claude-quotad`, or install it as a service: `claude-quota service install`",
    { cause: err },
  );
}

/**
 * One socket speaking the framed protocol: replies are matched to requests
 * in order (the daemon answers in order), so requests may be pipelined. Any
 * fault of the stream fails every waiting request and ends the connection,
 * since a late reply would answer the wrong question.
 */
class Connection {
  constructor(socket) {
    this.socketPath = socket;
    this.buffer = Buffer.alloc(0);
    this.waiters = [];
    this.frames = [];
    this.failure = null;
    this.closed = false;
  }

  /** Opens the socket; rejects with `DaemonUnreachable` within `timeoutMs`. */
  open(timeoutMs) {
    checkSocketOwner(this.socketPath);
    return new Promise((resolve, reject) => {
      const stream = net.createConnection({ path: this.socketPath });
      this.stream = stream;
      const timer = startTimer(timeoutMs, () => {
        stream.destroy();
        reject(new DaemonUnreachable(`claude-quotad at ${this.socketPath} did not accept within ${timeoutMs} ms`));
      });
      stream.once("connect", () => {
        clearTimeout(timer);
        stream.removeAllListeners("error");
        stream.on("error", (err) => this.fail(new ProtocolError(`connection to claude-quotad broken: ${err.message}`)));
        stream.on("data", (chunk) => this.receive(chunk));
        stream.on("close", () => this.end());
        resolve(this);
      });
      stream.once("error", (err) => {
        clearTimeout(timer);
        reject(unreachable(this.socketPath, err));
      });
    });
  }

  /** Sends one message and resolves with the next frame not yet claimed.
   * A message too large to send is a `BadRequest` and costs nothing. */
  request(message, timeoutMs) {
    const frame = encode(message);
    const reply = this.next(timeoutMs);
    this.send(frame);
    return reply;
  }

  send(frame) {
    this.stream.write(frame);
  }

  /**
   * The next frame not yet claimed. When the daemon closes cleanly between
   * frames that is `null` if `allowClose` (a subscription ending), else a
   * `ProtocolError`. When `timeoutMs` passes first, the connection is
   * dropped (a late reply would answer the wrong question) and the wait
   * fails with `DaemonUnreachable` saying `late`.
   */
  next(timeoutMs, { allowClose = false, late = "did not answer" } = {}) {
    if (this.frames.length > 0) {
      if (this.frames.length <= MAX_QUEUED_FRAMES) this.stream.resume();
      return Promise.resolve(this.frames.shift());
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return allowClose ? Promise.resolve(null) : Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, allowClose, timer: null };
      waiter.timer = startTimer(timeoutMs, () => {
        this.fail(new DaemonUnreachable(`claude-quotad at ${this.socketPath} ${late} within ${timeoutMs} ms`));
      });
      this.waiters.push(waiter);
    });
  }

  receive(chunk) {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= PREFIX_LEN && !this.failure) {
      const length = this.buffer.readUInt32BE(0);
      if (length > MAX_FRAME_LEN) {
        this.fail(new ProtocolError(`the daemon announced a frame of ${length} bytes (limit ${MAX_FRAME_LEN})`));
        return;
      }
      if (this.buffer.length < PREFIX_LEN + length) return;
      const body = this.buffer.subarray(PREFIX_LEN, PREFIX_LEN + length);
      this.buffer = this.buffer.subarray(PREFIX_LEN + length);
      let message;
      try {
        message = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
      } catch (err) {
        this.fail(new ProtocolError(`unreadable reply: ${err.message}`));
        return;
      }
      if (message === null || typeof message !== "object" || typeof message.type !== "string") {
        this.fail(new ProtocolError(`reply without a type: ${body.toString("utf8").slice(0, 200)}`));
        return;
      }
      this.deliver(message);
    }
  }

  deliver(message) {
    const waiter = this.waiters.shift();
    if (waiter === undefined) {
      // Updates nobody asked for yet wait here; past a few, stop reading
      // until they are taken, so a slow subscriber costs the daemon a full
      // socket buffer rather than this process its memory.
      this.frames.push(message);
      if (this.frames.length > MAX_QUEUED_FRAMES) this.stream.pause();
      return;
    }
    clearTimeout(waiter.timer);
    waiter.resolve(message);
  }

  /** The daemon closed: a subscription ends, a request or a half-read
   * frame is a broken stream. */
  end() {
    const cleanly = this.buffer.length === 0;
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      if (cleanly && waiter.allowClose) waiter.resolve(null);
      else waiter.reject(closedError());
    }
  }

  /** Fails every waiting request with `error` and ends the connection. */
  fail(error) {
    if (!this.failure) this.failure = error;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(this.failure);
    }
    this.close();
  }

  /** Ends the connection; whatever still waits learns it closed. */
  close() {
    if (this.stream) this.stream.destroy();
    this.end();
  }
}

/** One message as a frame: the 4-byte big-endian length, then the JSON. */
function encode(message) {
  const payload = Buffer.from(JSON.stringify(message), "utf8");
  if (payload.length > MAX_FRAME_LEN) {
    throw new BadRequest(`request of ${payload.length} bytes exceeds the ${MAX_FRAME_LEN}-byte frame limit`);
  }
  const prefix = Buffer.alloc(PREFIX_LEN);
  prefix.writeUInt32BE(payload.length);
  return Buffer.concat([prefix, payload]);
}

function closedError() {
  return new ProtocolError("the daemon closed the connection");
}

/** A timer that does not keep the process alive; none for `null`/`Infinity`. */
function startTimer(timeoutMs, onTimeout) {
  if (timeoutMs == null || !Number.isFinite(timeoutMs)) return null;
  const timer = setTimeout(onTimeout, timeoutMs);
  timer.unref();
  return timer;
}

/** Turns an `error` reply into its exception and checks the reply answers
 * what was asked. */
function expect(reply, expected) {
  if (reply.type === "error") {
    const code = String(reply.code);
    const message = String(reply.message ?? "");
    if (code === "bad_request") throw new BadRequest(message);
    throw new DaemonError(code, message);
  }
  if (reply.type !== expected) {
    throw new ProtocolError(`expected a ${JSON.stringify(expected)} reply, got ${JSON.stringify(reply.type)}`);
  }
  return reply;
}

/**
 * A connection to claude-quotad. Hold one per router for its lifetime: it
 * connects on first use, and after a broken connection (the daemon
 * restarted) or a timeout the next call connects again. Requests may be
 * issued concurrently; they are pipelined on one socket.
 */
class Client {
  /**
   * `socket` defaults to `defaultSocketPath()`; `timeout` is how many
   * milliseconds each request may take (`null`: wait forever).
   */
  constructor({ socket, timeout = DEFAULT_TIMEOUT_MS } = {}) {
    this.socketPath = socket ?? defaultSocketPath();
    this.timeout = timeout;
    this.connection = null;
  }

  /** Closes the connection; a later call opens a new one. */
  close() {
    if (this.connection) this.connection.close();
    this.connection = null;
  }

  /** Introduces the client and returns the daemon's `name/version`; worth
   * checking once at start rather than misreading every answer. */
  async hello(clientName = `claude-quota-node/${VERSION}`) {
    const reply = await this.request({ type: "hello", protocol: PROTOCOL_VERSION, client: clientName }, "hello");
    if (reply.protocol !== PROTOCOL_VERSION) {
      throw new ProtocolError(`the daemon speaks protocol ${JSON.stringify(reply.protocol)}`);
    }
    return reply.daemon;
  }

  /** The daemon's full status (tier, reason, usage windows, staleness, last
   * error, Ollama's models…) as the JSON object of the contract. */
  status() {
    return this.request({ type: "status" }, "status");
  }

  /** The whole decision for a task of `value`: `use_cloud`, `tier`,
   * `reason` and `stale`, for routers that log why. */
  async decide(value) {
    check("task value", value, TASK_VALUES);
    return this.request({ type: "should_use_cloud", task_value: value }, "decision");
  }

  /** Whether a task of `value` (one of `TASK_VALUES`) may go to the cloud now. */
  async shouldUseCloud(value) {
    return Boolean((await this.decide(value)).use_cloud);
  }

  /** The model for a task of `complexity` (one of `TASK_COMPLEXITIES`):
   * `model`, `provider` (`anthropic`/`ollama`), `tier`, `reason`, `stale`
   * and `available` (false when the local model cannot run now). */
  async selectModel(complexity) {
    check("task complexity", complexity, TASK_COMPLEXITIES);
    return this.request({ type: "select_model", task_complexity: complexity }, "model");
  }

  /** Asks the daemon to poll now (at most once per 10 s) and returns the
   * status after; it waits on the network, so it may take seconds. */
  refresh() {
    return this.request({ type: "refresh" }, "status");
  }

  /**
   * Hands the daemon the `anthropic-ratelimit-unified-*` headers of a
   * Messages API response (a `Headers` object, a `Map` or a plain object;
   * names in any case), which saves it a poll of the usage API. Resolves to
   * `true` when a reading was sent and `false` when the headers hold none.
   * A header value that is not a number is a `BadRequest` naming it.
   */
  async ingestHeaders(headers) {
    const reading = readingFromHeaders(headers);
    if (reading === null) return false;
    await this.request({ type: "ingest", source: "headers", ...reading }, "ok");
    return true;
  }

  /**
   * The status now, then again at every change of tier or reading, until
   * the daemon closes (the iteration then ends). It uses a connection of
   * its own, because a subscribed connection answers nothing else; `timeout`
   * bounds the wait for each update in ms (`null`: as long as the tier
   * holds). Leaving the loop (`break`) closes the connection.
   */
  async *subscribe({ timeout = null } = {}) {
    const connection = await new Connection(this.socketPath).open(this.timeout);
    try {
      connection.send(encode({ type: "subscribe" }));
      for (;;) {
        const reply = await connection.next(timeout, { allowClose: true, late: "sent no update" });
        if (reply === null) return;
        yield expect(reply, "status");
      }
    } finally {
      connection.close();
    }
  }

  /** Sends one request and returns its reply; a broken or late reply drops
   * the connection so the next call starts clean. */
  async request(message, expected) {
    if (this.connection === null || this.connection.closed) {
      this.connection = null;
      this.connection = await new Connection(this.socketPath).open(this.timeout);
    }
    const connection = this.connection;
    try {
      return expect(await connection.request(message, this.timeout), expected);
    } catch (err) {
      // A refused request (sent or not) leaves the connection usable;
      // anything else may have left the stream out of step.
      if (!(err instanceof BadRequest)) this.drop(connection);
      throw err;
    }
  }

  drop(connection) {
    connection.close();
    if (this.connection === connection) this.connection = null;
  }
}

/** The header names lowercased, from a `Headers`, a `Map` or a plain object
 * (whose values may be arrays, as Node's `IncomingHttpHeaders` has them). */
function lowercaseHeaders(headers) {
  const entries =
    headers && typeof headers.entries === "function" && typeof headers.get === "function"
      ? Array.from(headers.entries())
      : Object.entries(headers ?? {});
  const lowered = new Map();
  for (const [name, value] of entries) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined && first !== null) lowered.set(String(name).toLowerCase(), String(first).trim());
  }
  return lowered;
}

/**
 * The `ingest` windows in a response's rate-limit headers, or `null` when
 * they hold none: utilization is a 0-1 fraction there (×100 here), a reset
 * is unix seconds, and `rejected` without a utilization counts as 100.
 */
function readingFromHeaders(headers) {
  const lowered = lowercaseHeaders(headers);
  const reading = {};
  for (const [window, key] of [
    ["5h", "five_hour"],
    ["7d", "seven_day"],
  ]) {
    const found = windowFromHeaders(lowered, window);
    if (found !== null) reading[key] = found;
  }
  return Object.keys(reading).length === 0 ? null : reading;
}

function windowFromHeaders(lowered, window) {
  const name = (field) => `${HEADER_PREFIX}${window}-${field}`;
  const fraction = number(lowered, name("utilization"));
  const rejected = lowered.get(name("status")) === "rejected";
  if (fraction === null && !rejected) return null;
  const reset = number(lowered, name("reset"));
  return {
    utilization: fraction === null ? 100 : fraction * 100,
    resets_at: reset === null ? null : new Date(reset * 1000).toISOString(),
  };
}

function number(lowered, name) {
  const raw = lowered.get(name);
  if (raw === undefined || raw === "") return null;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (name.endsWith("-reset") && value > 253402300799)) {
    throw new BadRequest(`header ${name} is not a usable number: ${JSON.stringify(raw.slice(0, 100))}`);
  }
  return value;
}

/**
 * Where a task of `value` and `complexity` should go now:
 * `{provider, model, reason, tier, available}`.
 *
 * The cloud needs both answers: the task's value must allow the cloud and
 * its complexity must call for the cloud model. Otherwise the task goes to
 * the local model the daemon names; when the complexity asked for the cloud
 * but the value does not allow it, that is the daemon's model for `medium`
 * complexity, which is local in every tier.
 *
 * Never throws: when the daemon is unreachable, slow, foreign or failing —
 * and for a `value` or `complexity` it does not know — the answer is local
 * (`fallbackModel`), with the reason saying why.
 */
async function route(
  value,
  complexity,
  { socket, timeout = ROUTE_TIMEOUT_MS, fallbackModel = FALLBACK_LOCAL_MODEL } = {},
) {
  const client = new Client({ socket, timeout });
  try {
    const [decision, choice] = await Promise.all([client.decide(value), client.selectModel(complexity)]);
    if (choice.provider === "anthropic" && decision.use_cloud) {
      return { provider: "anthropic", model: choice.model, reason: decision.reason, tier: choice.tier, available: true };
    }
    const local = choice.provider === "anthropic" ? await client.selectModel("medium") : choice;
    return {
      provider: "ollama",
      model: local.model,
      reason: `${decision.reason}; ${local.reason}`,
      tier: local.tier,
      available: local.available !== false,
    };
  } catch (err) {
    return {
      provider: "ollama",
      model: fallbackModel,
      reason: `claude-quotad unavailable, staying local: ${err.message}`,
      tier: null,
      available: true,
    };
  } finally {
    client.close();
  }
}

module.exports = {
  VERSION,
  PROTOCOL_VERSION,
  MAX_FRAME_LEN,
  TASK_VALUES,
  TASK_COMPLEXITIES,
  DEFAULT_TIMEOUT_MS,
  FALLBACK_LOCAL_MODEL,
  SOCKET_ENV,
  ClaudeQuotaError,
  DaemonUnreachable,
  WrongOwner,
  ProtocolError,
  BadRequest,
  DaemonError,
  Client,
  route,
  defaultSocketPath,
  readingFromHeaders,
};
