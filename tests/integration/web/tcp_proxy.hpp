#pragma once
// A TCP forwarder between a client and PostgreSQL that a test can take down
// (every connection cut, new ones refused) and bring back on the same port:
// a database that goes away and returns, without restarting the shared
// test server.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace seesaw::test {

class TcpProxy {
public:
    TcpProxy(std::string target_host, int target_port)
        : target_host_(std::move(target_host)), target_port_(target_port) {
        up();
    }
    ~TcpProxy() { down(); }

    int port() const { return port_; }

    // Listens (again, on the same port) and forwards new connections.
    void up() {
        std::lock_guard lock(mutex_);
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int on = 1;
        ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port_));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener_, 16) != 0)
            throw std::runtime_error("the proxy cannot listen");
        socklen_t len = sizeof addr;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        running_ = true;
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    // Cuts every connection and refuses new ones (as a stopped server does).
    void down() {
        {
            std::lock_guard lock(mutex_);
            if (!running_) return;
            running_ = false;
            ::shutdown(listener_, SHUT_RDWR);
        }
        acceptor_.join();
        ::close(listener_);
        std::list<std::thread> pumps;
        {
            std::lock_guard lock(mutex_);
            pumps.swap(pumps_);
        }
        for (auto& t : pumps) t.join();
    }

private:
    void accept_loop() {
        while (true) {
            pollfd pfd{listener_, POLLIN, 0};
            ::poll(&pfd, 1, 50);
            if (!running_) return;
            if (!(pfd.revents & POLLIN)) continue;
            int client = ::accept(listener_, nullptr, nullptr);
            if (client < 0) continue;
            int server = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_port = htons(static_cast<std::uint16_t>(target_port_));
            ::inet_pton(AF_INET, target_host_.c_str(), &addr.sin_addr);
            if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
                ::close(client);
                ::close(server);
                continue;
            }
            std::lock_guard lock(mutex_);
            pumps_.emplace_back([this, client, server] { pump(client, server); });
        }
    }

    // Copies bytes both ways until either side closes or the proxy goes down.
    void pump(int client, int server) {
        char buffer[16384];
        while (running_) {
            pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
            if (::poll(fds, 2, 50) <= 0) continue;
            bool closed = false;
            for (int i = 0; i < 2 && !closed; ++i) {
                if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
                if (n <= 0) {
                    closed = true;
                    break;
                }
                int to = i == 0 ? server : client;
                for (ssize_t sent = 0; sent < n;) {
                    ssize_t w = ::write(to, buffer + sent, static_cast<std::size_t>(n - sent));
                    if (w <= 0) {
                        closed = true;
                        break;
                    }
                    sent += w;
                }
            }
            if (closed) break;
        }
        ::close(client);
        ::close(server);
    }

    std::string target_host_;
    int target_port_;
    int port_ = 0;
    int listener_ = -1;
    std::atomic<bool> running_{false};
    std::thread acceptor_;
    std::mutex mutex_;
    std::list<std::thread> pumps_;  // guarded by mutex_
};

}  // namespace seesaw::test
