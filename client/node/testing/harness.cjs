"use strict";
/**
 * Test harness for the Node client and the claude-code-router example: the
 * real `claude-quotad` binary in a private temp dir, polling a fake usage
 * API and watching a fake Ollama, plus fake Anthropic and Ollama chat APIs
 * that record where every prompt went. It mirrors the Python suite's
 * fixtures (`client/python/tests/conftest.py`, `fakes.py`).
 *
 * The daemon binary comes from `$CLAUDE_QUOTAD_BIN` (the Rust test wrappers
 * set it), else from `target/debug/` of this repository; a missing binary
 * fails the test rather than skipping it.
 */

const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const http = require("node:http");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");

const { Client } = require("../index.cjs");

const REPO = path.resolve(__dirname, "../../..");

/** The token in the fake credentials file; the fake usage API accepts only it. */
const TOKEN = "tok";

/** Milliseconds a condition on the daemon's status may take to hold. */
const WAIT_MS = 15000;

/** Every temp dir this test process made; removed when it exits, whether
 * its tests passed, failed or threw, so no run leaves files behind. */
const tempDirs = [];
process.on("exit", () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh private dir under the system temp dir, removed at exit. */
function tempDir(prefix = "cq-node-") {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** A JSON-over-HTTP fake on 127.0.0.1 that keeps every request it was sent. */
class FakeServer {
  constructor(handle) {
    this.handle = handle;
    this.requests = [];
    this.server = http.createServer((req, res) => this.dispatch(req, res));
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return this;
  }

  /** The base URL to hand to the daemon or a router. */
  get url() {
    return `http://127.0.0.1:${this.server.address().port}`;
  }

  /** The bodies POSTed to `path`, in order. */
  posts(pathname) {
    return this.requests.filter((r) => r.method === "POST" && r.path === pathname).map((r) => r.json);
  }

  close() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }

  dispatch(req, res) {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const request = { method: req.method, path: req.url.split("?")[0], headers: req.headers, json: text ? JSON.parse(text) : null };
      this.requests.push(request);
      const [status, payload, headers = {}] = this.handle(request);
      const data = Buffer.from(JSON.stringify(payload));
      res.writeHead(status, { "content-type": "application/json", "content-length": data.length, ...headers });
      res.end(data);
    });
  }
}

/** A reply of the real usage endpoint's shape. */
function usageBody(fiveHour, sevenDay = 20) {
  // Always ahead: a window past its reset counts as 0 % in the daemon.
  const resetsAt = new Date(Date.now() + 3 * 24 * 3600 * 1000).toISOString();
  const window = (utilization) => ({ utilization, resets_at: resetsAt });
  return {
    five_hour: window(fiveHour),
    seven_day: sevenDay === null ? null : window(sevenDay),
    seven_day_opus: null,
    seven_day_sonnet: { utilization: 1.0, resets_at: null },
  };
}

/** Anthropic's `GET /api/oauth/usage`, at 5h 10 % / 7d 20 % (burst) until told otherwise. */
async function fakeUsageApi() {
  let body = usageBody(10);
  const fake = new FakeServer(({ method, path: p, headers }) => {
    if (method !== "GET" || p !== "/api/oauth/usage") return [404, { error: "not found" }];
    if (headers.authorization !== `Bearer ${TOKEN}`) return [401, { error: "invalid token" }];
    return [200, body];
  });
  fake.setUsage = (fiveHour, sevenDay = 20) => {
    body = usageBody(fiveHour, sevenDay);
  };
  return fake.start();
}

/** The answer the fake Ollama gives, so a test can see where a prompt went. */
const OLLAMA_REPLY = "local answer from the fake Ollama";

/** Ollama's `/api/tags`, `/api/chat` and its OpenAI-compatible `/v1/chat/completions`. */
async function fakeOllama(models = ["qwen3:14b", "qwen3:8b"]) {
  return new FakeServer(({ method, path: p, json }) => {
    if (method === "GET" && p === "/api/tags") {
      return [200, { models: models.map((m) => ({ name: m, model: m, size: 1, digest: "d", details: {} })) }];
    }
    if (method === "POST" && p === "/api/chat") {
      return [200, { model: json.model, message: { role: "assistant", content: OLLAMA_REPLY }, done: true }];
    }
    if (method === "POST" && p === "/v1/chat/completions") {
      return [
        200,
        {
          id: "chatcmpl-fake",
          object: "chat.completion",
          created: 1764400000,
          model: json.model,
          choices: [{ index: 0, message: { role: "assistant", content: OLLAMA_REPLY }, finish_reason: "stop" }],
          usage: { prompt_tokens: 3, completion_tokens: 7, total_tokens: 10 },
        },
      ];
    }
    return [404, { error: "not found" }];
  }).start();
}

/** The answer the fake Anthropic gives. */
const ANTHROPIC_REPLY = "cloud answer from the fake Anthropic";

/** Anthropic's `POST /v1/messages`; every answer carries the unified
 * rate-limit headers of a subscription token (`rateLimitHeaders`). */
async function fakeAnthropic(rateLimitHeaders = {}) {
  return new FakeServer(({ method, path: p, json }) => {
    if (method !== "POST" || p !== "/v1/messages") return [404, { type: "error", error: { type: "not_found_error" } }];
    return [
      200,
      {
        id: "msg_fake",
        type: "message",
        role: "assistant",
        model: json.model,
        content: [{ type: "text", text: ANTHROPIC_REPLY }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: { input_tokens: 3, output_tokens: 7 },
      },
      rateLimitHeaders,
    ];
  }).start();
}

/** A running `claude-quotad` in its own temp dir; `stop()` ends it. */
class Daemon {
  constructor(root, socket, child) {
    this.root = root;
    this.socket = socket;
    this.child = child;
    this.log = "";
    child.stdout.on("data", (chunk) => (this.log += chunk));
    child.stderr.on("data", (chunk) => (this.log += chunk));
    this.exited = new Promise((resolve) => child.once("exit", resolve));
  }

  /** Starts the daemon polling `apiUrl` every `pollInterval` seconds and
   * waits until it accepts connections. */
  static async start({ apiUrl, ollamaUrl, pollInterval = 0.2, root = tempDir() }) {
    const claude = path.join(root, "claude");
    const config = path.join(root, "config", "claude-quota");
    for (const dir of [claude, config, path.join(root, "home"), path.join(root, "run"), path.join(root, "state")]) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    fs.writeFileSync(
      path.join(claude, ".credentials.json"),
      JSON.stringify({ claudeAiOauth: { accessToken: TOKEN, expiresAt: null, scopes: ["user:inference", "user:profile"], subscriptionType: "max" } }),
    );
    // Mode 0600 whatever the umask: the daemon refuses a config others can write.
    // The fixed poll schedule: tests change the fake API and expect the
    // daemon to see it within a few poll intervals.
    fs.writeFileSync(path.join(config, "config.toml"), `[ollama]\nurl = "${ollamaUrl}"\n[policy]\nadaptive = false\n`, {
      mode: 0o600,
    });
    const socket = path.join(root, "s.sock");
    const binary = process.env.CLAUDE_QUOTAD_BIN || path.join(REPO, "target", "debug", "claude-quotad");
    assert.ok(fs.existsSync(binary), `${binary} is missing: run \`cargo build --workspace\` first (or set $CLAUDE_QUOTAD_BIN)`);
    const args = ["--api-url", apiUrl, "--poll-interval", String(pollInterval), "--socket", socket];
    // --config: macOS ignores XDG_CONFIG_HOME.
    args.push("--config", path.join(config, "config.toml"));
    const child = spawn(binary, args, {
      env: {
        PATH: process.env.PATH,
        HOME: path.join(root, "home"),
        XDG_RUNTIME_DIR: path.join(root, "run"),
        XDG_CONFIG_HOME: path.join(root, "config"),
        XDG_STATE_HOME: path.join(root, "state"),
        CLAUDE_CONFIG_DIR: claude,
        RUST_LOG: "claude_quotad=debug,info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const daemon = new Daemon(root, socket, child);
    await daemon.waitUntilListening();
    return daemon;
  }

  async waitUntilListening() {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      if (await connects(this.socket)) return;
      assert.ok(this.child.exitCode === null && Date.now() < deadline, `claude-quotad did not open ${this.socket}; log:\n${this.log}`);
      await sleep(10);
    }
  }

  /** The first status for which `done` holds; fails after `WAIT_MS`. */
  async waitFor(done) {
    const deadline = Date.now() + WAIT_MS;
    const client = new Client({ socket: this.socket });
    try {
      for (;;) {
        const status = await client.status();
        if (done(status)) return status;
        assert.ok(Date.now() < deadline, `condition not met; last status: ${JSON.stringify(status)}\nlog:\n${this.log}`);
        await sleep(20);
      }
    } finally {
      client.close();
    }
  }

  /** Waits until the reading of `fiveHour` % is in and shows `tier`. */
  async waitForTier(fiveHour, tier) {
    const status = await this.waitFor((s) => s.five_hour?.utilization === fiveHour);
    assert.equal(status.tier, tier, JSON.stringify(status));
    return status;
  }

  /** Ends the daemon (SIGTERM) and waits for it. */
  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    await this.exited;
  }
}

function connects(socket) {
  return new Promise((resolve) => {
    const probe = net.createConnection({ path: socket });
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Fakes for usage and Ollama plus a daemon with a first reading in (burst);
 * `close()` ends them all. */
async function startStack(options = {}) {
  const usageApi = await fakeUsageApi();
  const ollama = await fakeOllama();
  const daemon = await Daemon.start({ apiUrl: usageApi.url, ollamaUrl: ollama.url, ...options });
  // The first poll runs at start whatever the interval; a test that pushes
  // a reading before it lands would see the poll's reading replace its own.
  await daemon.waitFor((s) => s.api_calls >= 1 && s.source === "api");
  if (options.pollInterval === undefined) await daemon.waitForTier(10, "burst");
  return {
    usageApi,
    ollama,
    daemon,
    async close() {
      await this.daemon.stop();
      await Promise.all([usageApi.close(), ollama.close()]);
    },
  };
}

module.exports = {
  REPO,
  TOKEN,
  WAIT_MS,
  OLLAMA_REPLY,
  ANTHROPIC_REPLY,
  FakeServer,
  fakeUsageApi,
  fakeOllama,
  fakeAnthropic,
  Daemon,
  startStack,
  sleep,
  tempDir,
};
