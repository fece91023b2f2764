"use strict";
// The conformance suite for the Node client: tests/conformance/cases.json
// played by the scripted stand-in daemon (tests/src/stand_in_daemon.py).
// The Rust (tests/tests/conformance.rs) and Python (client/python/tests/
// test_conformance.py) suites run the same cases against the same
// stand-in; a client that answers otherwise fails.

const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");
const { describe, test } = require("node:test");

const quota = require("../index.cjs");
const { REPO, sleep, tempDir } = require("../testing/harness.cjs");

const CASES_PATH = path.join(REPO, "tests", "conformance", "cases.json");
const CASES = JSON.parse(fs.readFileSync(CASES_PATH, "utf8"));
const STAND_IN = path.join(REPO, "tests", "src", "stand_in_daemon.py");
const FIXTURES = path.join(REPO, "tests", "fixtures", "headers");
/** The route deadline of a case that names none, in ms. */
const ROUTE_TIMEOUT_MS = 1000;
/** The reason every local fallback starts with, in every client. */
const FALLBACK_REASON = "claude-quotad unavailable, staying local";
const START_TIMEOUT_MS = 10000;

/** The stand-in playing case `name`, or null (after saying so) where this
 * machine cannot play it; in CI that fails. */
async function startStandIn(name) {
  const child = spawn("python3", [STAND_IN, CASES_PATH, name, tempDir()], { stdio: ["ignore", "pipe", "inherit"] });
  const events = [];
  let first = null;
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the stand-in of ${name} did not start`)), START_TIMEOUT_MS);
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      const event = JSON.parse(line);
      events.push(event);
      if (first === null) {
        first = event;
        clearTimeout(timer);
        resolve(event);
      }
    });
  });
  const exited = new Promise((resolve) => child.once("close", resolve));
  const event = await started;
  const stop = async () => {
    child.kill("SIGKILL");
    await exited;
    const connections = new Map();
    let loneHello = false;
    for (const e of events.filter((e) => e.event === "frame")) {
      if (!connections.has(e.connection)) connections.set(e.connection, []);
      connections.get(e.connection).push(e.message);
      if (e.pipelined === false) loneHello = true;
    }
    return { connections: [...connections.keys()].sort((a, b) => a - b).map((n) => connections.get(n)), loneHello };
  };
  if (event.event === "unavailable") {
    await stop();
    assert.ok(!process.env.CI, `case ${name} cannot run in CI: ${event.why}`);
    console.log(`SKIPPED case ${name}: ${event.why}`);
    return null;
  }
  assert.equal(event.event, "ready", JSON.stringify(event));
  return { socket: event.socket, stop };
}

/** A route as the cases spell it. */
function observed(route) {
  const answered = !route.reason.startsWith(FALLBACK_REASON);
  const got = {
    answered,
    provider: route.provider,
    model: route.model,
    use_cloud: route.use_cloud,
    tier: route.tier,
    stale: route.stale,
    available: route.available,
    account: route.account,
    claude_config_dir: route.claude_config_dir,
  };
  if (answered) got.reason = route.reason;
  return got;
}

/** `route` is what `expect` says; `reason_contains` is text its reason must hold. */
function checkRoute(route, expect) {
  const { reason_contains: contains, ...rest } = expect;
  assert.deepEqual(observed(route), rest, route.reason);
  if (contains !== undefined) assert.ok(route.reason.includes(contains), route.reason);
}

const types = (received) => received.connections.map((frames) => frames.map((frame) => frame.type));

function checkHellos(received) {
  assert.ok(!received.loneHello, "a hello went alone, not pipelined");
  for (const frame of received.connections.flat().filter((f) => f.type === "hello")) {
    assert.ok(frame.protocol === 1 && frame.client.startsWith("claude-quota-node/"), JSON.stringify(frame));
  }
}

/** `value` as the daemon reads it: a null field the same as an absent one
 * (JSON numbers are all doubles here, so 83 and 83.0 already compare equal). */
function normalised(value) {
  if (Array.isArray(value)) return value.map(normalised);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== null && item !== undefined).map(([key, item]) => [key, normalised(item)]));
}

describe("route cases", () => {
  for (const item of CASES.route_cases) {
    // Where Node is held to other expectations, the case says why.
    const expected = { ...item, ...(item.node ?? {}) };
    test(item.name, async () => {
      let standIn = null;
      let socket = path.join(tempDir(), "nobody-home.sock");
      if (item.daemon !== null) {
        standIn = await startStandIn(item.name);
        if (standIn === null) return;
        socket = standIn.socket;
      }
      const client = new quota.Client({ socket, routeTimeout: item.route_timeout_ms ?? ROUTE_TIMEOUT_MS });
      let received = { connections: [], loneHello: false };
      try {
        for (const call of expected.calls) {
          if (call.sleep_ms !== undefined) {
            await sleep(call.sleep_ms);
            continue;
          }
          checkRoute(await client.route(...call.route), call.expect);
        }
      } finally {
        client.close();
        if (standIn !== null) received = await standIn.stop();
      }
      assert.deepEqual(types(received), expected.frames);
      checkHellos(received);
    });
  }
});

/** One call of a call case; the account passed only when the case gives one. */
async function makeCall(client, call) {
  const options = call.account !== undefined ? [{ account: call.account }] : [];
  const args = call.args;
  switch (call.call) {
    case "decide":
      return client.decide(args[0], ...options);
    case "select_model":
      return client.selectModel(args[0], ...options);
    case "status":
      return client.status();
    case "ingest":
      return client.ingest({ five_hour: args[0], seven_day: args[1], as_of: args[2] }, ...options);
    case "ingest_headers":
      return client.ingestHeaders(args[0], ...options);
    case "subscribe": {
      const updates = client.subscribe();
      try {
        return (await updates.next()).value;
      } finally {
        await updates.return();
      }
    }
    default:
      throw new Error(`a call case names no call ${call.call}`);
  }
}

async function checkCall(client, call) {
  const expect = call.expect;
  if (call.call === "route") {
    const options = call.account !== undefined ? [{ account: call.account }] : [];
    checkRoute(await client.route(...call.args, ...options), expect.value);
    return;
  }
  if (expect.error !== undefined) {
    await assert.rejects(makeCall(client, call), (err) => {
      const code = err instanceof quota.BadRequest ? "bad_request" : err.code;
      const message = err instanceof quota.BadRequest ? err.message : err.detail;
      assert.equal(code, expect.error, err.message);
      if (expect.message !== undefined) assert.equal(message, expect.message);
      return true;
    });
    return;
  }
  const got = await makeCall(client, call);
  const want = expect.value;
  if (want !== null && typeof want === "object") {
    for (const [key, field] of Object.entries(want)) assert.deepEqual(normalised(got[key] ?? null), normalised(field), key);
  } else {
    assert.deepEqual(got ?? null, want);
  }
}

describe("call cases", () => {
  for (const item of CASES.call_cases) {
    test(item.name, async () => {
      const standIn = await startStandIn(item.name);
      if (standIn === null) return;
      const client = new quota.Client({ socket: standIn.socket, routeTimeout: ROUTE_TIMEOUT_MS });
      let received;
      try {
        for (const call of item.calls) await checkCall(client, call);
      } finally {
        client.close();
        received = await standIn.stop();
      }
      assert.deepEqual(types(received), item.frames);
      checkHellos(received);
      const requests = received.connections.flat().filter((frame) => frame.type !== "hello");
      assert.deepEqual(requests.map(normalised), item.requests.map(normalised));
    });
  }
});

function fixture(name) {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8"));
}

describe("header fixtures", () => {
  test("every fixture sends exactly its sent headers in one ingest frame, or nothing", async () => {
    const standIn = await startStandIn("headers");
    const client = new quota.Client({ socket: standIn.socket });
    const fixtures = CASES.header_fixtures.map((name) => ({ name, ...fixture(name) }));
    let received;
    try {
      for (const item of fixtures) {
        assert.equal(await client.ingestHeaders(item.headers), item.sent !== null, item.name);
      }
    } finally {
      client.close();
      received = await standIn.stop();
    }
    const frames = received.connections.flat().filter((frame) => frame.type !== "hello");
    const expected = fixtures.filter((item) => item.sent !== null).map((item) => ({ type: "ingest", source: "headers", headers: item.sent }));
    assert.deepEqual(frames, expected);
  });
});
