"use strict";
// The Node client against the real claude-quotad binary (and, for faults
// the daemon never makes, against a scripted socket server).

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");

const quota = require("../index.cjs");
const { Client, route, BadRequest, DaemonUnreachable } = quota;
const { Daemon, startStack, tempDir } = require("../testing/harness.cjs");

describe("against the real daemon", () => {
  let stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  test("burst: a high task with a high complexity goes to Claude", async () => {
    const client = new Client({ socket: stack.daemon.socket });
    try {
      assert.match(await client.hello(), /^claude-quotad\//);
      const status = await client.status();
      assert.equal(status.tier, "burst");
      assert.equal(await client.shouldUseCloud("high"), true);
      assert.equal(await client.shouldUseCloud("routine"), false);
      const model = await client.selectModel("high");
      assert.equal(model.provider, "anthropic");
      assert.equal(model.model, "claude-sonnet-4-6");
      const chosen = await route("high", "high", { socket: stack.daemon.socket });
      assert.deepEqual([chosen.provider, chosen.model, chosen.tier], ["anthropic", "claude-sonnet-4-6", "burst"]);
      const medium = await route("medium", "high", { socket: stack.daemon.socket });
      assert.deepEqual([medium.provider, medium.model], ["ollama", "qwen3:14b"]);
    } finally {
      client.close();
    }
  });

  test("requests issued together are answered in order on one connection", async () => {
    const client = new Client({ socket: stack.daemon.socket });
    try {
      const answers = await Promise.all(quota.TASK_VALUES.map((value) => client.decide(value)));
      assert.deepEqual(
        answers.map((a) => a.use_cloud),
        [true, true, false, false, false],
      );
    } finally {
      client.close();
    }
  });

  test("a value the daemon does not know is a BadRequest before sending, and route stays local", async () => {
    const client = new Client({ socket: stack.daemon.socket });
    try {
      await assert.rejects(client.shouldUseCloud("urgent"), BadRequest);
      await assert.rejects(client.selectModel("huge"), /expected one of: high medium low/);
      assert.equal(client.connection, null, "nothing was sent");
      const chosen = await route("urgent", "high", { socket: stack.daemon.socket });
      assert.deepEqual([chosen.provider, chosen.tier], ["ollama", null]);
    } finally {
      client.close();
    }
  });

  test("a request over 64 KiB is a BadRequest that costs the connection nothing", async () => {
    const client = new Client({ socket: stack.daemon.socket });
    try {
      await client.status();
      const held = client.connection;
      await assert.rejects(client.request({ type: "status", padding: "x".repeat(70 * 1024) }), /exceeds the 65536-byte frame limit/);
      assert.equal(client.connection, held);
      assert.equal((await client.status()).type, "status");
    } finally {
      client.close();
    }
  });

  test("subscribe yields the status now and again when the tier changes", async () => {
    const client = new Client({ socket: stack.daemon.socket });
    const seen = [];
    for await (const status of client.subscribe({ timeout: 15000 })) {
      seen.push(status.tier);
      if (seen.length === 1) stack.usageApi.setUsage(81);
      if (status.tier === "resting") break;
    }
    assert.equal(seen[0], "burst");
    assert.equal(seen.at(-1), "resting");
    const chosen = await route("critical", "high", { socket: stack.daemon.socket });
    assert.deepEqual([chosen.provider, chosen.model], ["ollama", "qwen3:8b"]);
    stack.usageApi.setUsage(10);
    await stack.daemon.waitForTier(10, "burst");
  });
});

describe("readings from response headers", () => {
  let stack;
  before(async () => {
    // A long poll interval keeps the pushed reading current for the test.
    stack = await startStack({ pollInterval: 3600 });
  });
  after(async () => {
    await stack.close();
  });

  test("a Headers object with a 5h fraction becomes a reading of source headers", async () => {
    const client = new Client({ socket: stack.daemon.socket });
    try {
      const headers = new Headers({
        "Anthropic-Ratelimit-Unified-5h-Utilization": "0.93",
        "anthropic-ratelimit-unified-5h-reset": "1893456000",
        "anthropic-ratelimit-unified-7d-utilization": "0.25",
        "anthropic-ratelimit-unified-status": "allowed_warning",
      });
      assert.equal(await client.ingestHeaders(headers), true);
      const status = await stack.daemon.waitFor((s) => s.five_hour?.utilization === 93);
      assert.equal(status.source, "headers");
      assert.equal(status.tier, "resting");
      assert.equal(status.five_hour.resets_at.slice(0, 19), "2030-01-01T00:00:00");
      assert.equal(status.seven_day.utilization, 25);
    } finally {
      client.close();
    }
  });

  test("a plain object and a Map in any case are read the same; rejected counts as 100", async () => {
    const client = new Client({ socket: stack.daemon.socket });
    try {
      assert.equal(await client.ingestHeaders({ "ANTHROPIC-RATELIMIT-UNIFIED-5H-UTILIZATION": ["0.3"] }), true);
      await stack.daemon.waitFor((s) => s.five_hour?.utilization === 30 && s.tier === "burst");
      const rejected = new Map([["anthropic-ratelimit-unified-5h-status", "rejected"]]);
      assert.equal(await client.ingestHeaders(rejected), true);
      await stack.daemon.waitFor((s) => s.five_hour?.utilization === 100 && s.tier === "resting");
    } finally {
      client.close();
    }
  });

  test("a response without rate-limit headers sends nothing, and a value the daemon cannot read throws nothing", async () => {
    const client = new Client({ socket: stack.daemon.socket });
    try {
      assert.equal(await client.ingestHeaders({ "content-type": "application/json", "x-request-id": "r1" }), false);
      assert.equal(client.connection, null, "nothing was sent");
      assert.equal(await client.ingestHeaders({ "anthropic-ratelimit-unified-5h-utilization": "lots" }), true);
    } finally {
      client.close();
    }
  });
});

describe("when the daemon cannot be asked", () => {
  test("route answers local when nobody listens, and never throws", async () => {
    const socket = path.join(tempDir(), "nobody.sock");
    const chosen = await route("critical", "high", { socket });
    assert.deepEqual([chosen.provider, chosen.model, chosen.tier], ["ollama", quota.FALLBACK_LOCAL_MODEL, null]);
    assert.match(chosen.reason, /cannot reach claude-quotad/);
    await assert.rejects(new Client({ socket }).status(), DaemonUnreachable);
  });

  test("a socket file of another user is refused before connecting", async (t) => {
    const stack = await startStack();
    t.after(() => stack.close());
    t.mock.method(process, "geteuid", () => 4242);
    await assert.rejects(
      new Client({ socket: stack.daemon.socket }).status(),
      (err) => err instanceof quota.WrongOwner && err.uid === fs.statSync(stack.daemon.socket).uid && /not to you \(uid 4242\)/.test(err.message),
    );
    const chosen = await route("critical", "high", { socket: stack.daemon.socket });
    assert.deepEqual([chosen.provider, chosen.tier], ["ollama", null]);
  });

  test("the same client reconnects after the daemon restarts", async () => {
    const stack = await startStack();
    const client = new Client({ socket: stack.daemon.socket });
    try {
      const restart = async () => {
        stack.daemon = await Daemon.start({ apiUrl: stack.usageApi.url, ollamaUrl: stack.ollama.url, root: stack.daemon.root });
        await stack.daemon.waitForTier(10, "burst");
      };
      assert.equal((await client.status()).tier, "burst");
      // Restarted between two calls: the next call goes out on a new connection.
      await stack.daemon.stop();
      await restart();
      assert.equal((await client.status()).tier, "burst");
      // Down for a call: that call fails, the one after the restart does not.
      await stack.daemon.stop();
      await assert.rejects(client.status(), DaemonUnreachable);
      await restart();
      assert.equal((await client.status()).tier, "burst");
    } finally {
      client.close();
      await stack.close();
    }
  });
});

test("the ESM entry point exports the same client", async () => {
  const esm = await import("../index.mjs");
  assert.equal(esm.Client, Client);
  assert.equal(esm.route, route);
  assert.equal(esm.default, quota);
  const named = Object.keys(esm).filter((name) => name !== "default");
  assert.deepEqual(named.sort(), Object.keys(quota).sort());
});
