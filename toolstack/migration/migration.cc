// Migration: the source side (Migrate) and the destination side
// (ReceiveMigration) of the relocation protocol (migration_protocol.h).
//
// Who owns the domain: the source until it sends GO, the destination after.
// Before GO every failure resumes the source (if it had suspended) and the
// destination removes what it created. After GO the source destroys its copy
// on DONE and resumes it on FAIL; if the connection is lost instead it cannot
// know whether the destination runs the domain, so it keeps its copy
// suspended — never two copies running.
#include "toolstack/migration/migration.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "toolstack/domain/device_waits.h"
#include "toolstack/migration/migration_protocol.h"

namespace txend::toolstack {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string Where(const MigrateRequest& r) { return r.host + ":" + std::to_string(r.port); }

ControlMessage Message(MessageType type, const Status& st = Status::Ok()) {
  return ControlMessage{type, st.code(), st.message()};
}

// Why sending the image failed: a destination that closed the connection may
// have said why first; a send that timed out names the timeout.
Status SendFailure(TcpSocket& socket, const Status& local, std::chrono::milliseconds io_timeout) {
  if (local.code() == EAGAIN || local.code() == EWOULDBLOCK)
    return Status::Error(ETIMEDOUT, "the destination accepted no data for " +
                                        std::to_string(io_timeout.count() / 1000) + " s");
  if (local.code() != ECONNRESET && local.code() != EPIPE) return local;
  (void)socket.SetIoTimeout(std::chrono::seconds(2));
  auto m = ReadMessage(socket.fd());
  if (m.ok() && (m->type == MessageType::kFail || m->type == MessageType::kRefuse))
    return Status::Error(m->code > 0 ? m->code : EIO, "the destination failed: " + m->text);
  return Status::Error(local.code(),
                       "the destination closed the connection (" + local.message() + ")");
}

// Blocks SIGPIPE on this thread while the hypervisor writes to the socket (a
// closed peer then gives EPIPE instead of killing the process), and consumes
// any SIGPIPE raised meanwhile.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlocked() {
    timespec zero{0, 0};
    while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_, old_;
};

// Tells the caller where a migration is: at each step, and every 250 ms in
// between with the bytes the destination has acknowledged so far.
class ProgressReporter {
 public:
  ProgressReporter(std::function<void(const MigrationProgress&)> progress, const TcpSocket& socket)
      : progress_(std::move(progress)), socket_(socket), start_(Clock::now()) {
    if (progress_) ticker_ = std::thread([this] { Tick(); });
  }
  ~ProgressReporter() LOCKS_EXCLUDED(mu_) {
    {
      MutexLock lock(&mu_);
      stopping_ = true;
    }
    wake_.SignalAll();
    if (ticker_.joinable()) ticker_.join();
  }
  void Step(const char* phase, uint32_t round, int64_t dirty_pages) LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    now_.phase = phase;
    now_.round = round;
    now_.dirty_pages = dirty_pages;
    ReportLocked();
  }

 private:
  void Tick() LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    while (!stopping_) {
      const auto next = Clock::now() + std::chrono::milliseconds(250);
      while (!stopping_ && wake_.WaitUntil(next)) {
      }
      if (!stopping_ && !now_.phase.empty()) ReportLocked();
    }
  }
  void ReportLocked() EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!progress_) return;
    now_.bytes_sent = socket_.BytesAcked();
    now_.elapsed_s = Since(start_);
    progress_(now_);
  }

  const std::function<void(const MigrationProgress&)> progress_;
  const TcpSocket& socket_;
  const Clock::time_point start_;
  Mutex mu_;
  CondVar wake_{&mu_};
  MigrationProgress now_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread ticker_;
};

}  // namespace

Result<MigrationResult> Migration::Migrate(std::string_view ref, const MigrateRequest& request) {
  TXEND_ASSIGN_OR_RETURN(LockedDomain locked, ctx_.LockDomain(ref, kOpMigrate, true));
  const RegisteredDomain& d = locked.domain;
  TXEND_ASSIGN_OR_RETURN(Operation op,
                         ctx_.Begin(std::move(locked.lock), Lifecycle::IntentFor(kOpMigrate, d)));
  const uint32_t domid = *d.domid;
  const std::string what = "Migration of '" + d.config().name + "' to " + Where(request);
  const auto start = Clock::now();
  const TcpSocket* tls = nullptr;
  auto failed = [&](Status why) {  // before the handover: the domain stays here, running
    lifecycle_.ResumeIfSuspended(domid);
    if (tls && !tls->TlsError().empty())  // e.g. the destination refused our certificate
      why = Status::Error(EPROTO, "TLS with the destination failed: " + tls->TlsError());
    return Status::Error(why.code(),
                         what + " failed: " + why.message() + "; the domain keeps running here");
  };

  auto socket = TcpSocket::Connect(request.host, request.port, request.connect_timeout);
  if (!socket.ok()) return failed(socket.status());
  TcpSocket& sock = *socket;
  Status st = sock.SetIoTimeout(request.io_timeout);
  if (st.ok() && request.tls) {
    TlsOptions options = *request.tls;
    if (options.peer_name.empty()) options.peer_name = request.host;
    st = sock.StartTls(false, options);
    tls = &sock;
  }
  if (st.ok())
    st = SendAll(sock.fd(), EncodeHello({request.live, sxp::ToString(ToSxp(d.config()))}));
  if (!st.ok()) return failed(st);
  auto answer = ReadMessage(sock.fd());
  if (!answer.ok()) return failed(answer.status());
  if (answer->type == MessageType::kRefuse)
    return failed(Status::Error(answer->code > 0 ? answer->code : EIO,
                                "the destination refused: " + answer->text));
  if (answer->type != MessageType::kAccept)
    return failed(Status::Error(
        EPROTO, "the destination answered " + std::string(MessageTypeName(answer->type))));
  op.Step("accepted");

  MigrationResult result;
  std::optional<Clock::time_point> suspended_at;
  ProgressReporter progress(request.progress, sock);
  auto report = [&](const char* phase, int64_t dirty) {
    progress.Step(phase, result.rounds, dirty);
  };
  SaveRequest save;
  save.live = request.live;
  save.precopy_policy = [&](const PrecopyStats& s) {
    result.rounds = s.iteration;
    report("precopy", s.dirty_count);
    return DefaultPrecopyPolicy(s);
  };
  save.suspend = [&]() -> Status {
    suspended_at = Clock::now();
    report("stop-and-copy", -1);
    TXEND_RETURN_IF_ERROR(lifecycle_.Suspend(domid, d.config().name));
    op.Step("suspended");
    return Status::Ok();
  };
  if (d.config().is_hvm())
    save.device_model_logdirty = [&](bool on) { return ctx_.device_models.SetLogDirty(domid, on); };
  {
    SigpipeBlocked quiet;
    st = ctx_.hv.Save(domid, sock.fd(), save);
    if (st.ok() && d.config().is_hvm()) st = ctx_.device_models.SaveState(domid, sock.fd());
  }
  if (!st.ok()) return failed(SendFailure(sock, st, request.io_timeout));
  ++result.rounds;
  report("handover", 0);
  op.Step("sent");

  // The destination restores, connects its backends (within its device timeout), and says READY.
  (void)sock.SetIoTimeout(request.io_timeout + ctx_.options.device_timeout);
  if (auto ready = Expect(sock.fd(), MessageType::kReady); !ready.ok())
    return failed(ready.status());
  op.Step("ready");
  // Recorded before GO leaves: from then on a restarted txend must not resume this copy.
  if (st = op.intent.Advance(kPhaseHandedOver); !st.ok()) return failed(st);
  if (st = SendMessage(sock.fd(), Message(MessageType::kGo)); !st.ok()) return failed(st);
  op.Step("go");
  auto done = ReadMessage(sock.fd());
  if (done.ok() && done->type == MessageType::kFail)
    return failed(
        Status::Error(done->code > 0 ? done->code : EIO, "the destination failed: " + done->text));
  if (!done.ok() || done->type != MessageType::kDone) {
    std::string why = done.ok() ? "unexpected " + std::string(MessageTypeName(done->type))
                                : done.status().message();
    return Status::Error(EIO, what + ": lost the destination after handing the domain over (" +
                                  why +
                                  "); it may be running there, so it is kept suspended here, "
                                  "neither resumed nor destroyed");
  }
  result.downtime_s = suspended_at ? Since(*suspended_at) : 0;
  result.total_s = Since(start);
  result.bytes_sent = sock.BytesAcked();
  result.remote_domid = static_cast<uint32_t>(done->code);
  report("done", 0);
  op.Step("done");
  st = lifecycle_.DestroyLocked(op, d);
  if (!st.ok())
    return Status::Error(st.code(),
                         "'" + d.config().name + "' now runs on " + request.host +
                             ", but destroying its suspended copy here failed: " + st.message());
  return result;
}

Status Migration::CheckIncoming(const DomainConfig& config) {
  TXEND_RETURN_IF_ERROR(CheckIncomingPolicy(ctx_.options.incoming, config));
  TXEND_RETURN_IF_ERROR(ctx_.registry.CheckNameFree(config.name, config.uuid));
  auto same_uuid = ctx_.registry.Lookup(config.uuid);
  if (same_uuid.ok() && same_uuid->domid)
    return Status::Error(EEXIST, "Domain with uuid " + config.uuid +
                                     " is already running here as '" + same_uuid->config().name +
                                     "'");
  TXEND_ASSIGN_OR_RETURN(PhysInfo phys, ctx_.hv.Physinfo());
  uint64_t need_kib = static_cast<uint64_t>(config.memory_mb) * 1024;
  if (phys.free_memory_kib < need_kib)
    return Status::Error(ENOMEM, "not enough free memory for '" + config.name + "': it needs " +
                                     std::to_string(need_kib / 1024) + " MiB, " +
                                     std::to_string(phys.free_memory_kib / 1024) + " MiB are free");
  return Status::Ok();
}

Result<IncomingMigration> Migration::ReceiveMigration(TcpSocket& socket,
                                                      std::chrono::milliseconds io_timeout) {
  const auto start = Clock::now();
  const int fd = socket.fd();
  TXEND_RETURN_IF_ERROR(socket.SetIoTimeout(io_timeout));
  TXEND_ASSIGN_OR_RETURN(MigrationHello hello, ReadHello(fd));
  auto refuse = [&](const Status& why) {
    (void)SendMessage(fd, Message(MessageType::kRefuse, why));
    return why;
  };
  auto parsed = sxp::Parse(hello.config);
  if (!parsed.ok())
    return refuse(Status::Error(EINVAL, "bad domain config: " + parsed.status().message()));
  auto valid = FromSxp(*parsed, ctx_.options.random);
  if (!valid.ok()) return refuse(valid.status());
  auto config = RegisteredConfig::Make(std::move(valid).value());
  if (!config.ok()) return refuse(config.status());
  const DomainConfig& c = *(*config)->config;
  // Taken without waiting: a domain this host is busy with (a txend migrating
  // to itself included) is refused at once.
  auto lock = ctx_.LockNewDomain(c, kOpReceive, std::chrono::milliseconds(0));
  if (!lock.ok()) return refuse(lock.status());
  if (Status st = CheckIncoming(c); !st.ok()) return refuse(st);
  auto begun = ctx_.Begin(std::move(*lock), Intent::Begin(kOpReceive, c.uuid, c.name));
  if (!begun.ok()) return refuse(begun.status());
  Operation& op = *begun;
  TXEND_RETURN_IF_ERROR(SendMessage(fd, Message(MessageType::kAccept)));

  // Restores the stream; backends connected; paused.
  auto created = lifecycle_.CreateFromRestoreFdLocked(op, *config, true, fd);
  if (!created.ok()) {
    Status why = created.status();
    if (why.code() == EAGAIN || why.code() == EWOULDBLOCK)
      why = Status::Error(ETIMEDOUT, "the source sent nothing for " +
                                         std::to_string(io_timeout.count() / 1000) + " s (" +
                                         why.message() + ")");
    (void)SendMessage(fd, Message(MessageType::kFail, why));
    return why;
  }
  const RegisteredDomain& d = *created;
  const uint32_t domid = *d.domid;
  auto fail = [&](const Status& why) {  // the source resumes its copy: this one goes
    if (!op.intent.intent().phase.empty()) (void)op.intent.Advance("");
    (void)lifecycle_.DestroyLocked(op, d);
    (void)SendMessage(fd, Message(MessageType::kFail, why));
    return why;
  };
  if (Status st = SendMessage(fd, Message(MessageType::kReady)); !st.ok()) return fail(st);
  op.Step("ready");
  if (auto go = Expect(fd, MessageType::kGo); !go.ok()) return fail(go.status());
  // The source handed the domain over: from here it is ours, and a restarted txend runs it.
  Status st = op.intent.Advance(kPhaseHandedOver);
  op.Step("go");
  if (st.ok()) st = ctx_.hv.Unpause(domid);
  op.Step("running");
  if (st.ok()) st = WaitDevicesConnected(ctx_, domid, d.registered->devices);
  if (!st.ok()) return fail(st);
  op.Step("connected");
  IncomingMigration in{d.config().name, domid, hello.live, socket.BytesReceived(), Since(start)};
  if (st = SendMessage(fd, ControlMessage{MessageType::kDone, static_cast<int32_t>(domid), ""});
      !st.ok())
    return Status::Error(st.code(), "'" + d.config().name +
                                        "' runs here now, but the source could not be told (" +
                                        st.message() + "); it keeps its copy suspended");
  return in;
}

}  // namespace txend::toolstack
