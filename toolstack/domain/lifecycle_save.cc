// Lifecycle: save files — saving a domain (then destroying it), restoring
// one, and core dumps. A save file is txend's header (a magic line, the
// config on one line) followed by the hypervisor's image.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "base/host_files.h"
#include "base/unique_fd.h"
#include "toolstack/domain/lifecycle.h"

namespace txend::toolstack {
namespace {

constexpr char kSaveMagic[] = "TXENDSV1\n";

// The longest config line a save file's header may have.
constexpr size_t kMaxSaveConfigBytes = 1 << 20;

// A save file's header: the magic line, then the config on one line; leaves
// `fd` at the image that follows.
Result<std::string> ReadSaveHeader(int fd, const std::string& path) {
  constexpr size_t kMagicBytes = sizeof kSaveMagic - 1;
  std::string head(kMagicBytes + kMaxSaveConfigBytes + 1, '\0');
  ssize_t n = pread(fd, head.data(), head.size(), 0);
  if (n < 0) return Status::Error(errno, "cannot read " + path + ": " + strerror(errno));
  head.resize(static_cast<size_t>(n));
  if (head.compare(0, kMagicBytes, kSaveMagic) != 0)
    return Status::Error(EINVAL, path + " is not a txend save file");
  size_t eol = head.find('\n', kMagicBytes);
  if (eol == std::string::npos)
    return Status::Error(EINVAL, path + " is not a txend save file (no config line within " +
                                     std::to_string(kMaxSaveConfigBytes >> 10) + " KiB)");
  if (lseek(fd, static_cast<off_t>(eol + 1), SEEK_SET) < 0)
    return Status::Error(errno, "cannot read " + path + ": " + strerror(errno));
  return head.substr(kMagicBytes, eol - kMagicBytes);
}

// Dumps `domid`'s core, paused for the dump unless `live` (or not running);
// a domain paused for it stays paused after a good dump when `stay_paused`.
Status DumpPaused(Hypervisor& hv, uint32_t domid, const std::string& path, bool live,
                  bool stay_paused) {
  TXEND_ASSIGN_OR_RETURN(DomainInfo info, hv.GetDomainInfo(domid));
  bool pause = !live && !info.paused && !info.shutdown && !info.crashed && !info.dying;
  if (pause) TXEND_RETURN_IF_ERROR(hv.Pause(domid));
  Status dumped = hv.DumpCore(domid, path);
  if (pause && !(dumped.ok() && stay_paused)) (void)hv.Unpause(domid);
  return dumped;
}

}  // namespace

Status Lifecycle::Save(std::string_view ref, const std::string& path) {
  TXEND_ASSIGN_OR_RETURN(LockedDomain locked, ctx_.LockDomain(ref, kOpSave, true));
  const RegisteredDomain& d = locked.domain;
  Intent intent = IntentFor(kOpSave, d);
  intent.path = path;
  TXEND_ASSIGN_OR_RETURN(Operation op, ctx_.Begin(std::move(locked.lock), std::move(intent)));
  TXEND_ASSIGN_OR_RETURN(UniqueFd fd, CreateRegularFileToWrite(path, "save file"));
  auto fail = [&](Status st) {
    fd.reset();
    unlink(path.c_str());
    return st;
  };
  std::string header = std::string(kSaveMagic) + sxp::ToString(ToSxp(d.config())) + "\n";
  if (write(fd.get(), header.data(), header.size()) != static_cast<ssize_t>(header.size()))
    return fail(Status::Error(EIO, "cannot write " + path));
  uint32_t domid = *d.domid;
  SaveRequest request;
  request.suspend = [&]() -> Status {
    TXEND_RETURN_IF_ERROR(Suspend(domid, d.config().name));
    op.Step("suspended");
    return Status::Ok();
  };
  if (d.config().is_hvm())
    request.device_model_logdirty = [&](bool on) {
      return ctx_.device_models.SetLogDirty(domid, on);
    };
  Status saved = ctx_.hv.Save(domid, fd.get(), request);
  if (saved.ok() && d.config().is_hvm()) saved = ctx_.device_models.SaveState(domid, fd.get());
  if (saved.ok() && fsync(fd.get()) != 0) saved = Status::Error(errno, "cannot sync " + path);
  if (!saved.ok()) {
    ResumeIfSuspended(domid);  // let it run on if it had suspended
    return fail(saved);
  }
  fd.reset();
  op.Step("written");
  return DestroyLocked(op, d);
}

Result<uint32_t> Lifecycle::Restore(const std::string& path, bool paused) {
  TXEND_ASSIGN_OR_RETURN(UniqueFd fd, OpenRegularFileToRead(path, "save file", UINT64_MAX));
  TXEND_ASSIGN_OR_RETURN(std::string line, ReadSaveHeader(fd.get(), path));
  TXEND_ASSIGN_OR_RETURN(sxp::Value v, sxp::Parse(line));
  TXEND_ASSIGN_OR_RETURN(ValidConfig config, FromSxp(v, ctx_.options.random));
  TXEND_ASSIGN_OR_RETURN(auto registered, RegisteredConfig::Make(std::move(config)));
  const DomainConfig& c = *registered->config;
  TXEND_ASSIGN_OR_RETURN(DomainLock lock, ctx_.LockNewDomain(c, kOpRestore));
  TXEND_ASSIGN_OR_RETURN(Operation op,
                         ctx_.Begin(std::move(lock), Intent::Begin(kOpRestore, c.uuid, c.name)));
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d,
                         CreateFromRestoreFdLocked(op, std::move(registered), paused, fd.get()));
  return *d.domid;
}

// xend's domain_dump: a running domain is paused for the dump unless `live`;
// after it, crash destroys the domain and reset restarts it (under the
// domain's lock, with its intent).
Status Lifecycle::DumpCore(std::string_view ref, const std::string& path, DumpOptions how) {
  if (!how.crash && !how.reset) {
    TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, ctx_.registry.Running(ref));
    return DumpPaused(ctx_.hv, *d.domid, path, how.live, false);
  }
  const char* after = how.crash ? kOpDestroy : kOpReset;
  TXEND_ASSIGN_OR_RETURN(LockedDomain locked, ctx_.LockDomain(ref, after, true));
  const RegisteredDomain& d = locked.domain;
  TXEND_RETURN_IF_ERROR(DumpPaused(ctx_.hv, *d.domid, path, how.live, true));
  Intent intent = IntentFor(after, d);
  if (how.reset) intent.config = ToSxp(d.config());
  TXEND_ASSIGN_OR_RETURN(Operation op, ctx_.Begin(std::move(locked.lock), std::move(intent)));
  if (how.crash) return DestroyLocked(op, d);
  return RecreateLocked(op, d, d.registered).status();
}

}  // namespace txend::toolstack
