# Homebrew formula for claude-quota: builds both binaries from source with
# cargo, and runs claude-quotad as a login service through `brew services`.
#
# Until the first release is tagged this formula is HEAD-only:
#   brew install --HEAD ./packaging/homebrew/claude-quota.rb
# A release adds `url` (the tag's source tarball) and its `sha256` here.
class ClaudeQuota < Formula
  desc "Tells AI-agent routers whether a task may spend the Claude subscription"
  homepage "https://github.com/claude-quota/claude-quota"
  license any_of: ["MIT", "Apache-2.0"]
  head "https://github.com/claude-quota/claude-quota.git", branch: "main"

  depends_on "rust" => :build

  def install
    system "cargo", "install", *std_cargo_args(path: "daemon")
    system "cargo", "install", *std_cargo_args(path: "client/cli")
  end

  # `brew services start claude-quota` writes a LaunchAgent (macOS) or a
  # systemd user unit (Linux) from this block. It matches what
  # `claude-quota service install` writes: restart after a crash but not
  # after a clean exit, never throttled (routers wait on every answer), logs
  # in one file. Use one or the other, not both: they would race for the
  # same socket.
  service do
    run [opt_bin/"claude-quotad"]
    keep_alive crashed: true
    process_type :interactive
    environment_variables RUST_LOG: "info"
    log_path var/"log/claude-quota/claude-quotad.log"
    error_log_path var/"log/claude-quota/claude-quotad.log"
  end

  test do
    assert_match "claude-quota", shell_output("#{bin}/claude-quota --version")
    socket = testpath/"claude-quotad.sock"
    # No credentials in the test sandbox: the daemon answers "unknown", so
    # every task stays local and should-use-cloud says "no" (exit 1).
    pid = spawn bin/"claude-quotad", "--socket", socket, "--api-url", "http://127.0.0.1:9"
    sleep 2
    assert_equal "no\n", shell_output("#{bin}/claude-quota --socket #{socket} should-use-cloud high", 1)
  ensure
    Process.kill("TERM", pid) if pid
  end
end
