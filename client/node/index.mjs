// The ESM entry point: the same module as `index.cjs` (one implementation,
// so `import` and `require` users share its behaviour and its error
// classes). Node finds the named exports in index.cjs's `module.exports`.
import client from "./index.cjs";

export * from "./index.cjs";
export default client;
