//! Several Claude accounts: `claude-quota accounts [discover]`,
//! `claude-quota account` and `claude-quota exec`. An account is a Claude
//! Code login, that is a `CLAUDE_CONFIG_DIR`; these commands list the
//! accounts, find the logins, and start a program on the one with
//! headroom, and none of them touches a credential.

mod choose;
pub mod discover;
pub mod exec;
pub mod list;
pub mod print;
