// Intents: what a lifecycle operation is about to do, written to
// <state_dir>/intents/<uuid>.sxp before its first side effect and removed once
// it is over (done, or undone in-process). A txend killed in between finds the
// file when it starts again, and recovery (recovery.h) finishes or undoes the
// operation. Files are replaced atomically (temp file, rename) but not synced:
// they guard against the death of txend, not of the host, whose domains die
// with it.
//
// The test hook TXEND_FAULT (ToolstackOptions::fault) acts at the steps an
// operation reports: "<op>.<step>" makes txend kill itself with SIGKILL there,
// "<op>.<step>:stall" makes it stop there for up to a minute (a test then
// kills xsd). Steps are listed in docs/RELIABILITY.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sxp/sxp.h"

namespace txend::toolstack {

// The operations that write intents, and the phase names recovery acts on.
inline constexpr char kOpCreate[] = "create";    // also start (xm start)
inline constexpr char kOpRestore[] = "restore";  // from a save file
inline constexpr char kOpReceive[] = "receive";  // an incoming migration
inline constexpr char kOpDestroy[] = "destroy";  // also a domain's exit (on_poweroff ...)
inline constexpr char kOpSave[] = "save";
inline constexpr char kOpMigrate[] = "migrate";  // the sending side
inline constexpr char kOpAttach[] = "attach";
inline constexpr char kOpDetach[] = "detach";
inline constexpr char kOpReset[] = "reset";  // also restarts: destroy, then create again
// migrate/receive: the source has sent GO, the domain belongs to the destination.
inline constexpr char kPhaseHandedOver[] = "handed-over";
// reset: the old domain is gone; the new one is being created.
inline constexpr char kPhaseCreating[] = "creating";
// any op ending in a destroy: its nodes are going, the domain is not to run
// again; recovery finishes the destroy.
inline constexpr char kPhaseDestroying[] = "destroying";

struct Intent {
  std::string op;  // one of kOp*
  std::string uuid;
  std::string name;  // for logs
  std::optional<uint32_t> domid;
  std::string phase;                 // "" or one of kPhase*
  std::string path;                  // save: the file being written
  std::string device_type;           // attach, detach: "vbd", "vif"
  uint32_t devid = 0;                //   and its device id
  std::optional<sxp::Value> config;  // detach: the config once done; reset: the one to create

  // The intent to begin `op` on the domain `uuid` (`name` for logs); the rest as it goes.
  static Intent Begin(std::string op, std::string uuid, std::string name);
  sxp::Value ToSxp() const;
  static Result<Intent> FromSxp(const sxp::Value& v);
};

class IntentLog;

// An intent on disk while its operation runs; removed when destroyed unless
// Keep() was called (the operation could not clean up: recovery will).
class IntentRecord {
 public:
  IntentRecord(IntentRecord&& other) noexcept;
  IntentRecord& operator=(IntentRecord&&) = delete;
  ~IntentRecord();

  const Intent& intent() const { return intent_; }
  // The operation reached `step`: where TXEND_FAULT strikes.
  void Step(std::string_view step) const;
  // Records a phase or the domain id on disk, before the operation goes on.
  Status Advance(std::string phase);
  Status SetDomid(uint32_t domid);
  // Leaves the file for start-up recovery.
  void Keep() { kept_ = true; }

 private:
  friend class IntentLog;
  IntentRecord(const IntentLog* log, Intent intent) : log_(log), intent_(std::move(intent)) {}
  const IntentLog* log_;
  Intent intent_;
  bool kept_ = false;
};

class IntentLog {
 public:
  // Intents live in <state_dir>/intents; `fault` is TXEND_FAULT's value; a
  // stall lasts while `stall_while` says so (txend: its xenstore connection lives).
  IntentLog(std::string state_dir, std::string fault, std::function<bool()> stall_while);

  // Writes `intent` (replacing any earlier one for its uuid).
  Result<IntentRecord> Begin(Intent intent) const;
  // What a previous txend left (start-up): each intent, or why its file is
  // unreadable (such a file is renamed *.unreadable, for the operator).
  std::vector<Result<Intent>> Pending() const;
  // Removes a pending intent once recovered.
  void Remove(const std::string& uuid) const;
  // TXEND_FAULT: SIGKILL (or a stall) when `op`.`step` is the named step.
  void Fault(std::string_view op, std::string_view step) const;

 private:
  friend class IntentRecord;
  Status Write(const Intent& intent) const;
  std::string PathOf(const std::string& uuid) const;

  const std::string dir_;
  const std::string fault_;
  const std::function<bool()> stall_while_;
};

}  // namespace txend::toolstack
