// Connections a listener answered at once whose close (or next request) had not come when
// the reply went out, kept off the event loop for a moment.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace txend::http {

// Most clients answered at once (libvirt, xm: a connection per request) close at once and
// connect again, so each connection here is looked at again, on its bare descriptor, when
// its listener next wakes to accept (Sweep); one still quiet after a whole tick is
// registered to wait like any other connection. On the listeners' I/O thread only.
class AwaitingClose : public std::enable_shared_from_this<AwaitingClose> {
 public:
  // How many a listener's wake looks at, the newest first: the client that connects has
  // mostly just closed its last connection, and many clients at once cost an accept no
  // more than this many reads (the tick settles the rest).
  static constexpr size_t kLooksPerWake = 4;

  class Connection {
   public:
    virtual ~Connection() = default;
    // Reads what has come (its close, a request) and goes on with it; true if nothing has.
    // `last`: then it waits registered, and returns false.
    virtual bool LookAgain(bool last) = 0;
  };

  // A connection may go unlooked-at for one to two `tick`s before it waits registered.
  AwaitingClose(boost::asio::io_context& ioc, std::chrono::milliseconds tick)
      : tick_(ioc), period_(tick) {}

  void Add(std::shared_ptr<Connection> connection);
  // On its listener's wake: the newest few.
  void Sweep();

 private:
  using List = std::vector<std::shared_ptr<Connection>>;
  void Tick();
  static void Look(List& list, bool last);

  boost::asio::steady_timer tick_;
  const std::chrono::milliseconds period_;
  bool ticking_ = false;
  List fresh_;  // added since the last tick
  List aged_;   // quiet through one tick already
};

}  // namespace txend::http
