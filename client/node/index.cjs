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
 * `route` asks the daemon one question (`route`) in one round trip under one
 * deadline (2 s by default) and never throws: whenever the daemon cannot be
 * asked it answers local, with the local model the daemon named in its
 * `hello` (the built-in default only before any contact), because spending
 * the subscription on a guess is the one unsafe answer. `Client` offers the
 * whole protocol (status, decisions, subscriptions, pushed readings and
 * response headers, which the daemon reads; every question takes an
 * optional `{ account }`). Names and errors mirror the Python client
 * `claude_quota.py`;
 * the rules all three bundled clients follow, held to by one conformance
 * suite (`tests/conformance/cases.json`), are in docs/protocol.md, "Client
 * rules".
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

/** Milliseconds a call may take, connecting included. Answers come from
 * memory; only `refresh` waits on the network. */
const DEFAULT_TIMEOUT_MS = 15000;

/** Milliseconds a `route` call may take, connecting included, before it
 * answers local. */
const ROUTE_TIMEOUT_MS = 2000;

/** The environment variable that overrides the socket path everywhere. */
const SOCKET_ENV = "CLAUDE_QUOTA_SOCKET";

/** The local model `route` answers when the daemon cannot be asked and never
 * named its own (before any contact): the policy's default
 * `models.local_large`. */
const FALLBACK_LOCAL_MODEL = "qwen3:14b";

/** How this client introduces itself in `hello`, for the daemon's logs. */
const CLIENT_NAME = `claude-quota-node/${VERSION}`;
/** The reason every local fallback starts with. */
const FALLBACK_REASON = "claude-quotad unavailable, staying local";
const TIERS = ["burst", "active", "resting", "unknown"];
const PROVIDERS = ["anthropic", "ollama"];
const SUBAGENT_MODELS = ["keep", "opus", "sonnet", "haiku"];
const ERROR_CODES = ["bad_request", "unsupported_protocol", "frame_too_large", "too_many_connections", "internal"];
/** The reply type each request is answered with (or `error`). */
const ANSWERS = {
  hello: "hello",
  status: "status",
  refresh: "status",
  subscribe: "status",
  should_use_cloud: "decision",
  select_model: "model",
  route: "route",
  ingest: "ok",
};

const SOCKET_NAME = "claude-quotad.sock";
const PREFIX_LEN = 4;
// `sun_path` holds 104 bytes on macOS, including the terminating NUL.
const MACOS_MAX_SOCKET_PATH = 103;
const HEADER_PREFIX = "anthropic-ratelimit-unified-";
// The most headers one push carries, and the longest name and value in
// bytes: what the daemon takes (docs/protocol.md, "Client rules").
const MAX_HEADERS = 64;
const MAX_HEADER_NAME = 128;
const MAX_HEADER_VALUE = 256;
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

/** The socket file, or its directory, belongs to another user, whose
 * process could answer anything: route locally, and find out who it is. A
 * socket directory only you can write keeps this from happening. `uid` is
 * the other user's. */
class WrongOwner extends DaemonUnreachable {
  constructor(socket, uid, what = "its socket") {
    super(
      `refusing the daemon at ${socket}: ${what} belongs to uid ${uid}, not to you ` +
        `(uid ${process.geteuid()}); another user's process may be answering for claude-quotad`,
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
 * `$CLAUDE_QUOTA_SOCKET`, else `$XDG_RUNTIME_DIR/claude-quota/` on Linux
 * (without `XDG_RUNTIME_DIR`, `/run/user/<uid>/claude-quota/` when that
 * runtime directory is yours alone) or
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
  const runtime = env.XDG_RUNTIME_DIR || userRuntimeDir();
  return runtime ? path.join(runtime, "claude-quota") : null;
}

/** `/run/user/<uid>` when it is a real directory of this user that nobody
 * else can write, as the daemon checks it; else null. */
function userRuntimeDir() {
  const directory = `/run/user/${process.getuid()}`;
  let info;
  try {
    info = fs.lstatSync(directory);
  } catch {
    return null;
  }
  const mine = info.isDirectory() && info.uid === process.getuid() && (info.mode & 0o022) === 0;
  return mine ? directory : null;
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
 * Refuses a socket that may not be our daemon's, before connecting to it.
 * Node cannot read a Unix socket's peer credentials (`SO_PEERCRED` /
 * `getpeereid`; no maintained npm package offers them without a compiler
 * at install time), so it checks what the file system shows: the socket
 * file (a socket, not a symlink, of this user) and its directory (a
 * directory, not a symlink, of this user, writable by nobody else). The
 * daemon makes both so, and nobody else can then replace the socket
 * between this check and the connect. What it cannot see is the process
 * behind a socket of ours (docs/protocol.md, "Who may talk to whom").
 */
function checkSocket(socket) {
  if (typeof process.geteuid !== "function") return;
  const own = process.geteuid();
  const directory = path.dirname(path.resolve(socket));
  let file, dir;
  try {
    file = fs.lstatSync(socket);
    dir = fs.lstatSync(directory);
  } catch (err) {
    throw unreachable(socket, err);
  }
  if (file.uid !== own) throw new WrongOwner(socket, file.uid);
  if (dir.uid !== own) throw new WrongOwner(socket, dir.uid, `its directory ${directory}`);
  const refuse = (why) =>
    new DaemonUnreachable(`refusing the daemon at ${socket}: ${why}; claude-quotad makes its socket in a directory only you can write`);
  if (!file.isSocket()) throw refuse(file.isSymbolicLink() ? "it is a symlink" : "it is not a socket");
  if (!dir.isDirectory()) throw refuse(`its directory ${directory} is a symlink or not a directory`);
  if ((dir.mode & 0o022) !== 0) throw refuse(`its directory ${directory} is writable by others`);
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
 * since a late reply would answer the wrong question. The socket keeps the
 * process alive only while a reply is awaited, so a held client never
 * stops a script from exiting.
 */
class Connection {
  constructor(socket) {
    this.socketPath = socket;
    this.buffer = Buffer.alloc(0);
    this.waiters = [];
    this.frames = [];
    this.failure = null;
    this.closed = false;
    this.greeted = false;
  }

  /** Opens the socket; rejects with `DaemonUnreachable` within `timeoutMs`. */
  open(timeoutMs) {
    checkSocket(this.socketPath);
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
        stream.unref();
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

  /**
   * Sends one request `frame` and resolves with its reply within
   * `timeoutMs`; on a connection that has not said `hello` yet, the hello
   * goes in the same write and its reply is checked first (`onHello`).
   */
  async exchange(message, frame, timeoutMs, onHello) {
    const greeting = !this.greeted && message.type !== "hello";
    this.greeted = true;
    const hello = greeting ? this.next(timeoutMs) : null;
    const reply = this.next(timeoutMs);
    this.stream.write(greeting ? Buffer.concat([HELLO_FRAME, frame]) : frame);
    if (hello !== null) {
      reply.catch(() => {}); // the hello's failure is the one reported
      onHello(await hello);
    }
    return reply;
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
      this.stream.ref();
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
      if (message === null || typeof message !== "object" || Array.isArray(message) || typeof message.type !== "string") {
        this.fail(new ProtocolError(`reply without a type: ${body.toString("utf8").slice(0, 200)}`));
        return;
      }
      this.deliver(message);
    }
  }

  deliver(message) {
    const waiter = this.waiters.shift();
    if (this.waiters.length === 0) this.stream.unref();
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

/** One message as a frame: the 4-byte big-endian length, then the JSON. A
 * message too large for a frame is a `BadRequest` and sends nothing. */
function encode(message) {
  const payload = Buffer.from(JSON.stringify(message), "utf8");
  if (payload.length > MAX_FRAME_LEN) {
    throw new BadRequest(`request of ${payload.length} bytes exceeds the ${MAX_FRAME_LEN}-byte frame limit`);
  }
  const prefix = Buffer.alloc(PREFIX_LEN);
  prefix.writeUInt32BE(payload.length);
  return Buffer.concat([prefix, payload]);
}

/** The `hello` every new connection starts with, in its first write. */
const HELLO_FRAME = encode({ type: "hello", protocol: PROTOCOL_VERSION, client: CLIENT_NAME });

function closedError() {
  return new ProtocolError("the daemon closed the connection");
}

/** A timer that does not keep the process alive; none for `null`/`Infinity`. */
function startTimer(timeoutMs, onTimeout) {
  if (timeoutMs == null || !Number.isFinite(timeoutMs)) return null;
  const timer = setTimeout(onTimeout, Math.max(0, timeoutMs));
  timer.unref();
  return timer;
}

/** What is left of a deadline, in ms (`null`: none). */
function left(deadline) {
  return deadline === null ? null : Math.max(0, deadline - Date.now());
}

const isString = (value) => typeof value === "string";
const isBool = (value) => typeof value === "boolean";
const strings = (value, keys, allowed = null) =>
  value !== null &&
  typeof value === "object" &&
  keys.every((key) => isString(value[key]) && (allowed === null || allowed.includes(value[key])));

/**
 * `reply` when it answers `request`: the reply type the request asks for
 * (or a well-formed `error`), and for `hello` and `route` the fields every
 * client reads, of the right types (unknown fields are ignored). Anything
 * else is a `ProtocolError`, and the connection is dropped.
 */
function fits(request, reply) {
  let ok;
  if (reply.type === "error") {
    ok = isString(reply.code) && isString(reply.message);
    // A code from a newer daemon reads as `internal`, and the connection
    // stays (the stream is in step).
    if (ok && !ERROR_CODES.includes(reply.code)) reply.code = "internal";
  } else if (reply.type !== ANSWERS[request.type]) {
    ok = false;
  } else if (reply.type === "hello") {
    const { models, claude_code: subagents } = reply;
    ok =
      Number.isInteger(reply.protocol) &&
      reply.protocol >= 0 &&
      isString(reply.daemon) &&
      (models == null || strings(models, ["cloud", "local_large", "local_small"])) &&
      (subagents == null || strings(subagents, ["burst", "active", "resting"], SUBAGENT_MODELS));
  } else if (reply.type === "route") {
    ok =
      PROVIDERS.includes(reply.provider) &&
      isString(reply.model) &&
      reply.model !== "" &&
      isBool(reply.use_cloud) &&
      reply.use_cloud === (reply.provider === "anthropic") &&
      TIERS.includes(reply.tier) &&
      isString(reply.reason) &&
      isBool(reply.stale) &&
      (reply.available === undefined || isBool(reply.available));
  } else {
    ok = true;
  }
  if (!ok) throw new ProtocolError(`a reply that does not answer the request: ${JSON.stringify(reply).slice(0, 300)}`);
  return reply;
}

/** Turns an `error` reply into its exception. */
function answer(reply) {
  if (reply.type === "error") {
    if (reply.code === "bad_request") throw new BadRequest(reply.message);
    throw new DaemonError(reply.code, reply.message);
  }
  return reply;
}

/** The local model each daemon named in its last hello, by socket, for the
 * whole process: the module-level `route()` connects anew each call and
 * must remember it too. */
const namedModels = new Map();

/**
 * A connection to claude-quotad. Hold one per router for its lifetime: it
 * connects on first use, saying `hello` in the same write as its first
 * request. A timeout or a broken or unreadable reply drops the connection
 * and the next call connects again; an `error` reply keeps it. Requests may
 * be issued concurrently; they are pipelined on one socket. An idle client
 * never keeps the process alive.
 */
class Client {
  /**
   * `socket` defaults to `defaultSocketPath()`; `timeout` is how many
   * milliseconds each call may take, connecting included (`null`: wait
   * forever); `routeTimeout` the same for `route`.
   */
  constructor({ socket, timeout = DEFAULT_TIMEOUT_MS, routeTimeout = ROUTE_TIMEOUT_MS } = {}) {
    this.socketPath = socket ?? defaultSocketPath();
    this.timeout = timeout;
    this.routeTimeout = routeTimeout;
    this.connection = null;
    this.opening = null;
    this.beforeContact = FALLBACK_LOCAL_MODEL;
  }

  /** Closes the connection; a later call opens a new one. */
  close() {
    if (this.connection) this.connection.close();
    this.connection = null;
  }

  /** The local model `route` answers when the daemon cannot be asked: the
   * one the daemon named in its last `hello`, the built-in default before
   * any contact. */
  get fallbackModel() {
    return namedModels.get(this.socketPath) ?? this.beforeContact;
  }

  /** Introduces the client and returns the daemon's `name/version`; fails
   * with `ProtocolError` when the daemon speaks another protocol version.
   * (Every new connection says `hello` by itself.) */
  async hello(clientName = CLIENT_NAME) {
    const reply = await this.request({ type: "hello", protocol: PROTOCOL_VERSION, client: clientName });
    return reply.daemon;
  }

  /** The daemon's full status (tier, reason, usage windows, staleness, last
   * error, Ollama's models…) as the JSON object of the contract. */
  status() {
    return this.request({ type: "status" });
  }

  /** The whole decision for a task of `value`: `use_cloud`, `tier`,
   * `reason` and `stale`, for routers that log why, and `account` and
   * `claude_config_dir` when the daemon has accounts. `{ account }` asks
   * for that account alone; without it the daemon picks. */
  async decide(value, { account } = {}) {
    check("task value", value, TASK_VALUES);
    return this.request(withAccount({ type: "should_use_cloud", task_value: value }, account));
  }

  /** Whether a task of `value` (one of `TASK_VALUES`) may go to the cloud
   * now (on `account`, when given). */
  async shouldUseCloud(value, options = {}) {
    return Boolean((await this.decide(value, options)).use_cloud);
  }

  /** The model for a task of `complexity` (one of `TASK_COMPLEXITIES`):
   * `model`, `provider` (`anthropic`/`ollama`), `tier`, `reason`, `stale`
   * and `available` (false when the local model cannot run now), and the
   * account as `decide` says. */
  async selectModel(complexity, { account } = {}) {
    check("task complexity", complexity, TASK_COMPLEXITIES);
    return this.request(withAccount({ type: "select_model", task_complexity: complexity }, account));
  }

  /**
   * Where a task of `value` and `complexity` goes now:
   * `{provider, model, reason, tier, available, use_cloud, stale, account,
   * claude_config_dir}`, from one question (`route`) within `routeTimeout`,
   * for `account` alone when given (else the daemon picks one and names
   * it). Never throws: any failure (no daemon, another user's, a timeout,
   * an error or unreadable reply, an unknown value or account) answers
   * local with `fallbackModel`, and `reason` says why.
   */
  async route(value, complexity, { account } = {}) {
    try {
      check("task value", value, TASK_VALUES);
      check("task complexity", complexity, TASK_COMPLEXITIES);
      const request = withAccount({ type: "route", task_value: value, task_complexity: complexity }, account);
      const reply = answer(await this.call(request, this.routeTimeout));
      return {
        provider: reply.provider,
        model: reply.model,
        reason: reply.reason,
        tier: reply.tier,
        available: reply.available !== false,
        use_cloud: reply.use_cloud,
        stale: reply.stale,
        account: reply.account ?? null,
        claude_config_dir: reply.claude_config_dir ?? null,
      };
    } catch (err) {
      return {
        provider: "ollama",
        model: this.fallbackModel,
        reason: `${FALLBACK_REASON}: ${err.message}`,
        tier: null,
        available: false,
        use_cloud: false,
        stale: true,
        account: null,
        claude_config_dir: null,
      };
    }
  }

  /** Asks the daemon to poll now (at most once per 10 s) and returns the
   * status after; it waits on the network, so it may take seconds. */
  refresh() {
    return this.request({ type: "refresh" });
  }

  /**
   * Pushes a reading taken from Claude Code's status line:
   * `{ five_hour, seven_day, as_of }`, each window
   * `{ utilization: percent, resets_at: RFC 3339 or null }` (`five_hour`
   * null when no session window is open, which the daemon reads as idle),
   * at least one of them; `as_of` when it was taken (an RFC 3339 string or
   * a `Date`; the arrival when absent). `{ account }`: the account it
   * belongs to. The daemon keeps it only if it is newer than the reading
   * it holds.
   */
  async ingest({ five_hour = null, seven_day = null, as_of } = {}, { account } = {}) {
    const message = { type: "ingest", source: "statusline", five_hour, seven_day };
    if (as_of !== undefined && as_of !== null) message.as_of = as_of instanceof Date ? as_of.toISOString() : as_of;
    await this.request(withAccount(message, account));
  }

  /**
   * Hands the daemon the `anthropic-ratelimit-unified-*` headers of a
   * Messages API response (a `Headers` object, a `Map`, a plain object or
   * an array of pairs; names in any case) as they are, which saves it a
   * poll of the usage API; the daemon reads them (`{ account }`: the
   * account the response was for). Resolves to `true` when any were sent
   * and `false` when the response had none; a value the daemon cannot
   * read is its to drop, never an error.
   */
  async ingestHeaders(headers, { account } = {}) {
    const sent = unifiedHeaders(headers);
    if (sent === null) return false;
    await this.request(withAccount({ type: "ingest", source: "headers", headers: sent }, account));
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
    const deadline = this.timeout == null ? null : Date.now() + this.timeout;
    const connection = await new Connection(this.socketPath).open(left(deadline));
    try {
      const request = { type: "subscribe" };
      yield answer(fits(request, await connection.exchange(request, encode(request), left(deadline), (hello) => this.greeting(hello))));
      for (;;) {
        const reply = await connection.next(timeout, { allowClose: true, late: "sent no update" });
        if (reply === null) return;
        yield answer(fits(request, reply));
      }
    } finally {
      connection.close();
    }
  }

  /** One request within `timeout`; an `error` reply throws its exception
   * (and keeps the connection). */
  async request(message) {
    return answer(await this.call(message, this.timeout));
  }

  /**
   * Sends one request and returns its reply within `timeoutMs`, connecting
   * included. The connection is kept only with a reply that answers the
   * request in hand (an `error` reply does): any other fault drops it, since
   * a late reply would answer the wrong question.
   */
  async call(message, timeoutMs) {
    const frame = encode(message);
    const deadline = timeoutMs == null ? null : Date.now() + timeoutMs;
    const connection = await this.connected(deadline);
    try {
      const reply = fits(message, await connection.exchange(message, frame, left(deadline), (hello) => this.greeting(hello)));
      if (message.type === "hello") this.greeting(reply);
      return reply;
    } catch (err) {
      this.drop(connection);
      throw err;
    }
  }

  /** The held connection, or a new one opened before `deadline`; calls
   * issued together share one. */
  async connected(deadline) {
    if (this.connection !== null && !this.connection.closed && !this.connection.failure) return this.connection;
    if (this.opening === null) {
      this.connection = null;
      this.opening = new Connection(this.socketPath)
        .open(left(deadline))
        .then((connection) => (this.connection = connection))
        .finally(() => (this.opening = null));
    }
    return this.opening;
  }

  /** Takes the reply to `hello`: a daemon of protocol 1, whose local model
   * is remembered for the fallback. Anything else fails the call. */
  greeting(reply) {
    answer(fits({ type: "hello" }, reply));
    if (reply.protocol !== PROTOCOL_VERSION) {
      throw new ProtocolError(`${reply.daemon} speaks protocol ${reply.protocol}, this client ${PROTOCOL_VERSION}`);
    }
    if (reply.models != null) namedModels.set(this.socketPath, reply.models.local_large);
  }

  drop(connection) {
    connection.close();
    if (this.connection === connection) this.connection = null;
  }
}

/**
 * The `anthropic-ratelimit-unified-*` headers of `headers` as the daemon
 * takes them: names lowercased (ASCII only), each once with its first
 * value within the bounds, at most 64 of them, the values as they are;
 * `null` when there is none. `headers` is a `Headers`, a `Map`, a plain
 * object (whose values may be arrays, as Node's `IncomingHttpHeaders` has
 * them) or an array of `[name, value]` pairs.
 */
function unifiedHeaders(headers) {
  let entries;
  if (Array.isArray(headers)) entries = headers;
  else if (headers && typeof headers.entries === "function") entries = Array.from(headers.entries());
  else entries = Object.entries(headers ?? {});
  const sent = {};
  let count = 0;
  for (const [name, value] of entries) {
    const field = asciiLower(String(name));
    const first = Array.isArray(value) ? value[0] : value;
    if (!field.startsWith(HEADER_PREFIX) || Object.hasOwn(sent, field) || first === undefined || first === null) continue;
    const text = String(first);
    const fits = Buffer.byteLength(field) <= MAX_HEADER_NAME && Buffer.byteLength(text) <= MAX_HEADER_VALUE;
    if (fits && count < MAX_HEADERS) {
      sent[field] = text;
      count += 1;
    }
  }
  return count === 0 ? null : sent;
}

const asciiLower = (text) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** `message` naming `account` when one is given. */
function withAccount(message, account) {
  if (account === undefined || account === null) return message;
  if (typeof account !== "string") throw new BadRequest(`account must be a name (a string), not ${JSON.stringify(account)}`);
  return { ...message, account };
}

/**
 * Where a task of `value` and `complexity` should go now (on `account`
 * alone, when given): connect, ask `route` once within `timeout` ms, close.
 * Never throws; lets the process exit as soon as it has answered.
 *
 * When the daemon is unreachable, slow, foreign or failing (or the value or
 * complexity is unknown), the answer is local: the model the daemon named
 * in its last `hello` in this process, or `fallbackModel` before any
 * contact.
 */
async function route(
  value,
  complexity,
  { socket, timeout = ROUTE_TIMEOUT_MS, fallbackModel = FALLBACK_LOCAL_MODEL, account } = {},
) {
  const client = new Client({ socket, routeTimeout: timeout });
  client.beforeContact = fallbackModel;
  try {
    return await client.route(value, complexity, { account });
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
  ROUTE_TIMEOUT_MS,
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
};
