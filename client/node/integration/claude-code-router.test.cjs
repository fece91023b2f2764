"use strict";
// claude-code-router 2.0.0 itself (`ccr start`, headless), with the README's
// config.json and the example custom router, in front of a fake Anthropic
// and a fake Ollama; the real claude-quotad decides. Each test sends the
// request Claude Code sends (`POST /v1/messages`) and asserts where it landed.
//
// `$CLAUDE_QUOTA_CCR_BIN` names the installed `ccr` (the Rust wrapper
// `tests/tests/claude_code_router.rs` sets it from `.ci/run`'s install).

const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");
const { after, before, test } = require("node:test");

const h = require("../testing/harness.cjs");

const ROUTER = path.join(h.REPO, "client/node/examples/claude-code-router.js");

/** The ```json block of the README's "Use it with claude-code-router"
 * section: the test runs exactly what users copy. */
function readmeConfig() {
  const readme = fs.readFileSync(path.join(h.REPO, "README.md"), "utf8");
  const section = readme.split("\n## Use it with claude-code-router\n")[1];
  assert.ok(section, "README.md has no section \"Use it with claude-code-router\"");
  const block = section.split("\n## ")[0].match(/```json\n([\s\S]*?)```/);
  assert.ok(block, "that README section has no json block");
  return block[1];
}

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

let stack;
let anthropic;
let ccr;
let port;

before(async () => {
  const binary = process.env.CLAUDE_QUOTA_CCR_BIN;
  assert.ok(binary && fs.existsSync(binary), `claude-code-router is not installed at ${binary} (set $CLAUDE_QUOTA_CCR_BIN)`);
  stack = await h.startStack();
  anthropic = await h.fakeAnthropic();
  port = await freePort();
  const home = h.tempDir("cq-ccr-");
  const config = JSON.parse(
    readmeConfig()
      .replace("https://api.anthropic.com", anthropic.url)
      .replace("http://127.0.0.1:11434", stack.ollama.url)
      .replace("/path/to/claude-quota/client/node/examples/claude-code-router.js", ROUTER),
  );
  assert.equal(config.CUSTOM_ROUTER_PATH, ROUTER);
  Object.assign(config, { PORT: port, LOG: true, claudeQuota: { ...config.claudeQuota, socket: stack.daemon.socket } });
  fs.mkdirSync(path.join(home, ".claude-code-router"));
  fs.writeFileSync(path.join(home, ".claude-code-router/config.json"), JSON.stringify(config, null, 2));
  ccr = spawn(binary, ["start"], {
    env: { PATH: process.env.PATH, HOME: home, TMPDIR: home, ANTHROPIC_API_KEY: "sk-ant-api03-fake-key" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  ccr.log = "";
  ccr.stdout.on("data", (chunk) => (ccr.log += chunk));
  ccr.stderr.on("data", (chunk) => (ccr.log += chunk));
  ccr.home = home;
  const deadline = Date.now() + 60000;
  while (!(await reachable(port))) {
    assert.ok(ccr.exitCode === null && Date.now() < deadline, `ccr start did not listen on ${port}:\n${ccr.log}`);
    await h.sleep(100);
  }
});

after(async () => {
  if (ccr && ccr.exitCode === null) {
    const exited = new Promise((resolve) => ccr.once("exit", resolve));
    ccr.kill("SIGTERM");
    await exited;
  }
  await anthropic?.close();
  await stack?.close();
});

function reachable(p) {
  return new Promise((resolve) => {
    const probe = net.createConnection({ port: p, host: "127.0.0.1" });
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}

/** What Claude Code sends for a turn: its system prompt, a user message,
 * the session in `metadata.user_id`; `thinking` for plan/think turns. */
function claudeCodeRequest({ model = "claude-sonnet-4-6", thinking = false } = {}) {
  return {
    model,
    max_tokens: 32000,
    stream: false,
    system: [
      { type: "text", text: "You are Claude Code, Anthropic's official CLI for Claude." },
      { type: "text", text: "You are an interactive CLI tool that helps users with software engineering tasks." },
    ],
    messages: [{ role: "user", content: [{ type: "text", text: "What is 6 x 7?" }] }],
    metadata: { user_id: "user_0123_account__session_4567" },
    ...(thinking ? { thinking: { type: "enabled", budget_tokens: 4096 } } : {}),
  };
}

/** Sends one request through CCR; returns the answer text and which fake
 * got it (`anthropic`, `ollama`) with the model it was asked for. */
async function send(request) {
  const before = { anthropic: anthropic.requests.length, ollama: stack.ollama.posts("/v1/chat/completions").length };
  const response = await fetch(`http://127.0.0.1:${port}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "ccr", "anthropic-version": "2023-06-01" },
    body: JSON.stringify(request),
    signal: AbortSignal.timeout(30000),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${text}\nccr log:\n${ccr.log}`);
  const cloud = anthropic.posts("/v1/messages").slice(before.anthropic);
  const local = stack.ollama.posts("/v1/chat/completions").slice(before.ollama);
  assert.equal(cloud.length + local.length, 1, `landed ${cloud.length}× at Anthropic, ${local.length}× at Ollama`);
  const [where, body] = cloud.length ? ["anthropic", cloud[0]] : ["ollama", local[0]];
  return { where, model: body.model, answer: JSON.parse(text).content[0].text };
}

test("burst: a think request (high) goes to Anthropic by CCR's own rule", async () => {
  const landed = await send(claudeCodeRequest({ thinking: true }));
  assert.deepEqual(landed, { where: "anthropic", model: "claude-sonnet-4-6", answer: h.ANTHROPIC_REPLY });
});

test("burst: an ordinary turn (medium) and a haiku background request (routine) stay on Ollama", async () => {
  assert.deepEqual(await send(claudeCodeRequest()), { where: "ollama", model: "qwen3:14b", answer: h.OLLAMA_REPLY });
  const background = await send(claudeCodeRequest({ model: "claude-3-5-haiku-20241022" }));
  assert.deepEqual(background, { where: "ollama", model: "qwen3:14b", answer: h.OLLAMA_REPLY });
});

test("resting: even a think request goes to Ollama's small model", async () => {
  stack.usageApi.setUsage(81);
  await stack.daemon.waitForTier(81, "resting");
  const landed = await send(claudeCodeRequest({ thinking: true }));
  assert.deepEqual(landed, { where: "ollama", model: "qwen3:8b", answer: h.OLLAMA_REPLY });
});

test("daemon down: a think request goes to Ollama", async () => {
  await stack.daemon.stop();
  const landed = await send(claudeCodeRequest({ thinking: true }));
  assert.deepEqual(landed, { where: "ollama", model: "qwen3:14b", answer: h.OLLAMA_REPLY });
});
