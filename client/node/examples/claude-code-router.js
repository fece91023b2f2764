/**
 * A claude-code-router (CCR) custom router that keeps Claude Code on a local
 * Ollama model whenever claude-quotad says the subscription should not be
 * spent, and otherwise leaves the choice to CCR's own `Router` rules.
 *
 * In `~/.claude-code-router/config.json`:
 *
 *     "CUSTOM_ROUTER_PATH": "/path/to/claude-quota/client/node/examples/claude-code-router.js"
 *
 * CCR calls `router(req, config, context)` for every request and uses a
 * returned `"provider,model"`; `null` lets its rules (`Router.default`,
 * `background`, `think`, …) decide.
 *
 * What a request is worth (its task value), from CCR's own scenarios:
 * - Claude Code's small fast-model requests (a `haiku` model; CCR's
 *   `background` scenario) are `routine`: never the cloud.
 * - Requests with extended thinking on (plan mode, "think" prompts; CCR's
 *   `think` scenario) are `high`: the cloud in `burst`.
 * - Everything else is `medium`: local unless the daemon says otherwise.
 * The value's complexity for `select_model` follows it (critical and high →
 * high, medium → medium, low and routine → low).
 *
 * Settings, all optional, under `"claudeQuota"` in CCR's config.json:
 * - `provider`: the local provider's name in `Providers` (default `ollama`);
 * - `background`, `think`, `default`: the task value of each kind of
 *   request (defaults `routine`, `high`, `medium`);
 * - `socket`: the daemon's socket (default: `$CLAUDE_QUOTA_SOCKET`, else the
 *   platform default);
 * - `timeoutMs`: how long to wait for the daemon (default 2000).
 *
 * When the daemon is down, slow or of another user, the request goes local
 * (`route` never throws): spending the subscription on a guess is the one
 * unsafe answer.
 */

"use strict";

const { route } = require("../index.cjs");

const DEFAULTS = Object.freeze({
  provider: "ollama",
  background: "routine",
  think: "high",
  default: "medium",
  timeoutMs: 2000,
});

const COMPLEXITY = Object.freeze({ critical: "high", high: "high", medium: "medium", low: "low", routine: "low" });

/** The kind of request, in CCR's scenario names. */
function scenario(body) {
  if (typeof body?.model === "string" && /haiku/i.test(body.model)) return "background";
  const thinking = body?.thinking;
  if (thinking && thinking.type !== "disabled") return "think";
  return "default";
}

module.exports = async function router(req, config, context) {
  const settings = { ...DEFAULTS, ...(config?.claudeQuota ?? {}) };
  const value = settings[scenario(req?.body)];
  const choice = await route(value, COMPLEXITY[value] ?? "medium", {
    socket: settings.socket,
    timeout: settings.timeoutMs,
  });
  req?.log?.info?.(`claude-quota: ${value} task -> ${choice.provider} ${choice.model} (${choice.reason})`);
  return choice.provider === "anthropic" ? null : `${settings.provider},${choice.model}`;
};
