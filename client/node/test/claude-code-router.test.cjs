"use strict";
// The claude-code-router example called as CCR calls it
// (`await router(req, config, { event })`, see CCR 2.0.0's dist/cli.js,
// where `CUSTOM_ROUTER_PATH` is required), against the real daemon: the
// request mapping and the settings. CCR itself runs in
// client/node/integration/.

const assert = require("node:assert/strict");
const path = require("node:path");
const { after, before, test } = require("node:test");

const router = require("../examples/claude-code-router.js");
const { startStack } = require("../testing/harness.cjs");

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack.close();
});

function request(body) {
  return { body: { model: "claude-sonnet-4-6", messages: [{ role: "user", content: "hi" }], ...body } };
}

test("burst: thinking is high and left to CCR's rules; plain turns and haiku stay local", async () => {
  const config = { claudeQuota: { socket: stack.daemon.socket } };
  assert.equal(await router(request({ thinking: { type: "enabled", budget_tokens: 1024 } }), config, {}), null);
  assert.equal(await router(request({}), config, {}), "ollama,qwen3:14b");
  assert.equal(await router(request({ model: "claude-haiku-4-5", thinking: { type: "enabled" } }), config, {}), "ollama,qwen3:14b");
  assert.equal(await router(request({ thinking: { type: "disabled" } }), config, {}), "ollama,qwen3:14b");
});

test("the settings: provider name and the value of each kind of request", async () => {
  const config = { claudeQuota: { socket: stack.daemon.socket, provider: "local", default: "critical", think: "routine" } };
  assert.equal(await router(request({}), config, {}), null);
  assert.equal(await router(request({ thinking: { type: "enabled" } }), config, {}), "local,qwen3:14b");
});

test("no daemon: everything goes to the local provider, and a bad setting does too", async () => {
  const socket = path.join(stack.daemon.root, "nobody.sock");
  assert.equal(await router(request({ thinking: { type: "enabled" } }), { claudeQuota: { socket } }, {}), "ollama,qwen3:14b");
  const typo = { claudeQuota: { socket: stack.daemon.socket, think: "urgent" } };
  assert.equal(await router(request({ thinking: { type: "enabled" } }), typo, {}), "ollama,qwen3:14b");
  assert.equal(await router({}, { claudeQuota: { socket } }, undefined), "ollama,qwen3:14b");
});
