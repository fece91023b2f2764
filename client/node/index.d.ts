// Types of the claude-quota Node client (index.cjs / index.mjs).

/** How much a task is worth, from "worth the cloud" to "never the cloud". */
export type TaskValue = "critical" | "high" | "medium" | "low" | "routine";
/** How hard a task is, which decides how large a model it needs. */
export type TaskComplexity = "high" | "medium" | "low";
/** The daemon's tier; `unknown` when it has no fresh reading. */
export type Tier = "burst" | "active" | "resting" | "unknown";

export const VERSION: string;
export const PROTOCOL_VERSION: 1;
export const MAX_FRAME_LEN: number;
export const TASK_VALUES: readonly TaskValue[];
export const TASK_COMPLEXITIES: readonly TaskComplexity[];
export const DEFAULT_TIMEOUT_MS: number;
export const ROUTE_TIMEOUT_MS: number;
export const FALLBACK_LOCAL_MODEL: string;
export const SOCKET_ENV: "CLAUDE_QUOTA_SOCKET";

/** What the rate limiter says of a window. */
export type WindowStatus = "allowed" | "allowed_warning" | "rejected";

/** One usage window: percent used (0-100, may exceed 100) and when it rolls
 * over; `status` when response headers gave it. */
export interface Window {
  utilization: number;
  resets_at: string | null;
  status?: WindowStatus;
}

/** A per-model weekly cap, as `status` shows it. */
export interface ScopedCap {
  model: string;
  utilization: number;
  resets_at: string | null;
  severity: string | null;
  status?: WindowStatus;
}

/** Extra usage (money beyond the windows), as `status` shows it. */
export interface ExtraUsage {
  enabled: boolean;
  utilization: number | null;
  used: number | null;
  limit: number | null;
  currency: string | null;
  disabled_reason: string | null;
}

/** The daemon's status (docs/protocol.md, "status"); unknown fields are kept. */
export interface Status {
  type: "status";
  tier: Tier;
  reason: string;
  five_hour: Window | null;
  seven_day: Window | null;
  seven_day_opus: Window | null;
  seven_day_sonnet: Window | null;
  weekly_scoped?: ScopedCap[];
  extra_usage?: ExtraUsage | null;
  as_of: string | null;
  stale: boolean;
  age_s: number | null;
  [field: string]: unknown;
}

/** The account an answer is for, when the daemon has accounts configured:
 * its name and its `CLAUDE_CONFIG_DIR` (absent for the default login). */
export interface AnsweredFor {
  account?: string;
  claude_config_dir?: string;
}

/** The answer to `should_use_cloud`. */
export interface Decision extends AnsweredFor {
  type: "decision";
  use_cloud: boolean;
  tier: Tier;
  reason: string;
  stale: boolean;
}

/** The answer to `select_model`. */
export interface ModelChoice extends AnsweredFor {
  type: "model";
  model: string;
  provider: "anthropic" | "ollama";
  tier: Tier;
  reason: string;
  stale: boolean;
  available?: boolean;
}

/** Where one task should go; `tier` is null (and `stale` true, `available`
 * false) when the daemon could not be asked. `account` and `claude_config_dir` are null
 * when the answer names none (no accounts configured, the default login,
 * or no daemon to ask). */
export interface Route {
  provider: "anthropic" | "ollama";
  model: string;
  reason: string;
  tier: Tier | null;
  available: boolean;
  use_cloud: boolean;
  stale: boolean;
  account: string | null;
  claude_config_dir: string | null;
}

/** Which account a call is for: a name from the daemon's `[[accounts]]`.
 * Without one, questions let the daemon pick and pushes belong to the
 * default account. */
export interface AccountOption {
  account?: string;
}

/** A status-line reading for `ingest`. */
export interface PushedReading {
  five_hour?: Window | null;
  seven_day?: Window | null;
  /** When it was taken; the arrival when absent. */
  as_of?: string | Date;
}

/** What `ingestHeaders` accepts: a fetch `Headers`, a `Map`, a plain
 * object (values may be arrays, as in Node's `IncomingHttpHeaders`) or an
 * array of `[name, value]` pairs. */
export type HeadersLike =
  | { entries(): IterableIterator<[string, string]>; get(name: string): string | null }
  | Map<string, string | string[]>
  | Record<string, string | string[] | number | undefined>
  | Array<[string, string]>;

export interface ClientOptions {
  /** Defaults to `defaultSocketPath()`. */
  socket?: string;
  /** Milliseconds each call may take, connecting included; `null` waits forever. Default 15000. */
  timeout?: number | null;
  /** Milliseconds `route` may take, connecting included, before it answers local. Default 2000. */
  routeTimeout?: number;
}

export class ClaudeQuotaError extends Error {}
export class DaemonUnreachable extends ClaudeQuotaError {}
export class WrongOwner extends DaemonUnreachable {
  constructor(socket: string, uid: number, what?: string);
  readonly uid: number;
}
export class ProtocolError extends ClaudeQuotaError {}
export class BadRequest extends ClaudeQuotaError {}
export class DaemonError extends ClaudeQuotaError {
  readonly code: string;
  readonly detail: string;
}

export class Client {
  constructor(options?: ClientOptions);
  readonly socketPath: string;
  /** The local model `route` answers when the daemon cannot be asked. */
  readonly fallbackModel: string;
  close(): void;
  hello(clientName?: string): Promise<string>;
  status(): Promise<Status>;
  decide(value: TaskValue, options?: AccountOption): Promise<Decision>;
  shouldUseCloud(value: TaskValue, options?: AccountOption): Promise<boolean>;
  selectModel(complexity: TaskComplexity, options?: AccountOption): Promise<ModelChoice>;
  /** Never rejects: local whenever the daemon cannot be asked. */
  route(value: TaskValue, complexity: TaskComplexity, options?: AccountOption): Promise<Route>;
  refresh(): Promise<Status>;
  /** Pushes a status-line reading. */
  ingest(reading: PushedReading, options?: AccountOption): Promise<void>;
  /** Hands the daemon a response's rate-limit headers as they are;
   * resolves to whether any were sent. */
  ingestHeaders(headers: HeadersLike, options?: AccountOption): Promise<boolean>;
  subscribe(options?: { timeout?: number | null }): AsyncGenerator<Status, void, undefined>;
}

export function route(
  value: TaskValue,
  complexity: TaskComplexity,
  options?: { socket?: string; timeout?: number; fallbackModel?: string; account?: string },
): Promise<Route>;

export function defaultSocketPath(env?: Record<string, string | undefined>): string;

declare const client: {
  Client: typeof Client;
  route: typeof route;
  defaultSocketPath: typeof defaultSocketPath;
};
export default client;
