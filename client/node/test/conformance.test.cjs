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
  };
  if (answered) got.reason = route.reason;
  return got;
}

const types = (received) => received.connections.map((frames) => frames.map((frame) => frame.type));

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
          const route = await client.route(...call.route);
          assert.deepEqual(observed(route), call.expect, route.reason);
        }
      } finally {
        client.close();
        if (standIn !== null) received = await standIn.stop();
      }
      assert.deepEqual(types(received), expected.frames);
      assert.ok(!received.loneHello, "a hello went alone, not pipelined");
      for (const frame of received.connections.flat().filter((f) => f.type === "hello")) {
        assert.ok(frame.protocol === 1 && frame.client.startsWith("claude-quota-node/"), JSON.stringify(frame));
      }
    });
  }
});

function fixture(item) {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, `${item.fixture}.json`), "utf8")).headers;
}

describe("header cases", () => {
  test("every fixture sends the expected ingest frame, or nothing", async () => {
    const standIn = await startStandIn("headers");
    const client = new quota.Client({ socket: standIn.socket });
    let received;
    try {
      for (const item of CASES.header_cases) {
        assert.equal(await client.ingestHeaders(fixture(item)), item.sent, item.fixture);
      }
    } finally {
      client.close();
      received = await standIn.stop();
    }
    const ingests = received.connections.flat().filter((frame) => frame.type === "ingest");
    const expected = CASES.header_cases.filter((item) => item.sent);
    assert.equal(ingests.length, expected.length);
    // JSON numbers are all doubles here, so 83 and 83.0 already compare equal.
    ingests.forEach((frame, at) => assert.deepEqual(frame, expected[at].ingest, expected[at].fixture));
  });

  for (const item of CASES.header_cases) {
    test(`readingFromHeaders: ${item.fixture}`, () => {
      const reading = quota.readingFromHeaders(fixture(item));
      assert.equal(reading !== null, item.sent);
      if (reading !== null) {
        const { type, source, ...sent } = item.ingest;
        assert.deepEqual(reading, sent);
      }
    });
  }
});
