#include "toolstack/hypervisor/xen/xen_log.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <utility>

#include "toolstack/hypervisor/xen/xen_headers.h"

namespace txend::toolstack {

// libxc sees only `base`; the callbacks find their XenLog through `owner`.
struct XenLog::Adapter {
  xentoollog_logger base;
  XenLog* owner;
};

namespace {

void VMessage(xentoollog_logger* logger, xentoollog_level level, int errnoval, const char* context,
              const char* format, va_list args) {
  char text[1024];
  std::vsnprintf(text, sizeof text, format, args);
  std::string message = text;
  if (context) message = std::string(context) + ": " + message;
  if (errnoval >= 0) message += std::string(" (") + std::strerror(errnoval) + ")";
  auto* adapter = reinterpret_cast<XenLog::Adapter*>(logger);
  adapter->owner->Record(level, message);
}

void Progress(xentoollog_logger*, const char*, const char*, int, unsigned long, unsigned long) {}

void Destroy(xentoollog_logger*) {}  // owned by XenLog

}  // namespace

XenLog::XenLog(bool echo_to_stderr) : adapter_(new Adapter{}), echo_(echo_to_stderr) {
  adapter_->base.vmessage = VMessage;
  adapter_->base.progress = Progress;
  adapter_->base.destroy = Destroy;
  adapter_->owner = this;
}

XenLog::~XenLog() { delete adapter_; }

xentoollog_logger* XenLog::logger() { return &adapter_->base; }

void XenLog::Record(int level, const std::string& message) {
  if (level < XTL_WARN) return;
  if (echo_) std::fprintf(stderr, "xen: %s\n", message.c_str());
  if (level < XTL_ERROR) return;
  std::lock_guard lock(mu_);
  last_error_ = message;
}

std::string XenLog::TakeLastError() {
  std::lock_guard lock(mu_);
  return std::exchange(last_error_, {});
}

}  // namespace txend::toolstack
