// Test support: a real redis-server on a free loopback port, in a fresh
// folder, stopped (and restartable) by the test. Tests skip when Debian's
// redis-server is not installed, unless ATELIER_REQUIRE_REDIS=1 (CI) makes
// that a failure.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

namespace atelier::testing_support {

class RedisServer {
 public:
  static bool installed() { return std::filesystem::exists("/usr/bin/redis-server"); }
  static bool required() {
    const char* v = std::getenv("ATELIER_REQUIRE_REDIS");
    return v && std::string(v) == "1";
  }

  RedisServer() : port_(free_port()) {}
  ~RedisServer() { stop(); }

  // Starts the server and waits until it accepts connections.
  bool start() {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      execl("/usr/bin/redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--logfile", "/dev/null",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (accepts()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  static int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Port 0: the kernel picks a free port. Should that fail, the port is 0
    // (an unbound socket's), as before, and start() reports the failure.
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      return 0;
    }
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
  }
  bool accepts() const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    return ok;
  }

  int port_;
  pid_t pid_ = -1;
};

// In a test body (include gtest first): skips, or fails when required, without redis-server.
#define ATELIER_NEED_REDIS()                                            \
  do {                                                                  \
    if (!::atelier::testing_support::RedisServer::installed()) {        \
      if (::atelier::testing_support::RedisServer::required())          \
        FAIL() << "redis-server is required (ATELIER_REQUIRE_REDIS=1)"; \
      GTEST_SKIP() << "redis-server is not installed";                  \
    }                                                                   \
  } while (0)

}  // namespace atelier::testing_support
