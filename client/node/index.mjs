// The ESM entry point: the same module as `index.cjs` (one implementation,
// so `import` and `require` users share its behaviour and its error classes).
import client from "./index.cjs";

export const {
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
} = client;

export default client;
