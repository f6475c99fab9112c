#include "toolstack/domain/intents.h"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "base/numbers.h"
#include "toolstack/domain/state_files.h"

namespace txend::toolstack {
namespace {

namespace fs = std::filesystem;
using sxp::Value;

constexpr char kStallSuffix[] = ":stall";
constexpr std::chrono::seconds kStallFor{60};

// A uuid as a file name: hex digits and dashes only, so no intent can name a path.
bool IsUuidText(const std::string& s) {
  return !s.empty() && s.size() <= 36 &&
         s.find_first_not_of("0123456789abcdef-") == std::string::npos;
}

// An intent from its file; errors name the file.
Result<Intent> ReadIntent(const std::string& file) {
  TXEND_ASSIGN_OR_RETURN(sxp::Value v, ReadStateFile(file));
  auto intent = Intent::FromSxp(v);
  if (!intent.ok()) return Status::Error(EINVAL, file + ": " + intent.status().message());
  return intent;
}

}  // namespace

Value Intent::ToSxp() const {
  Value v = Value::List({"intent", Value::List({"op", op}), Value::List({"uuid", uuid}),
                         Value::List({"name", name})});
  if (domid) v.Add(Value::List({"domid", Value::Int(*domid)}));
  if (!phase.empty()) v.Add(Value::List({"phase", phase}));
  if (!path.empty()) v.Add(Value::List({"path", path}));
  if (!device_type.empty()) v.Add(Value::List({"device", device_type, Value::Int(devid)}));
  if (config) v.Add(Value::List({"config", *config}));
  return v;
}

Intent Intent::Begin(std::string op, std::string uuid, std::string name) {
  Intent intent;
  intent.op = std::move(op);
  intent.uuid = std::move(uuid);
  intent.name = std::move(name);
  return intent;
}

Result<Intent> Intent::FromSxp(const Value& v) {
  if (sxp::Name(v) != "intent") return Status::Error(EINVAL, "not an (intent ...)");
  Intent i;
  i.op = sxp::ChildValue(v, "op");
  i.uuid = sxp::ChildValue(v, "uuid");
  i.name = sxp::ChildValue(v, "name");
  i.phase = sxp::ChildValue(v, "phase");
  i.path = sxp::ChildValue(v, "path");
  if (i.op.empty() || !IsUuidText(i.uuid)) return Status::Error(EINVAL, "no op or uuid");
  if (auto domid = sxp::FindChildValue(v, "domid")) {
    TXEND_ASSIGN_OR_RETURN(i.domid, ParseInteger<uint32_t>(*domid));
  }
  if (const Value* device = sxp::Child(v, "device")) {
    const Value* type = sxp::ChildAt(*device, 0);
    const Value* devid = sxp::ChildAt(*device, 1);
    if (!type || !type->is_atom() || !devid || !devid->is_atom())
      return Status::Error(EINVAL, "bad (device TYPE DEVID)");
    i.device_type = type->atom();
    TXEND_ASSIGN_OR_RETURN(i.devid, ParseInteger<uint32_t>(devid->atom()));
  }
  if (const Value* config = sxp::Child(v, "config"); config && sxp::ChildAt(*config, 0))
    i.config = *sxp::ChildAt(*config, 0);
  return i;
}

IntentRecord::IntentRecord(IntentRecord&& other) noexcept
    : log_(std::exchange(other.log_, nullptr)),
      intent_(std::move(other.intent_)),
      kept_(other.kept_) {}

IntentRecord::~IntentRecord() {
  if (log_ && !kept_) log_->Remove(intent_.uuid);
}

void IntentRecord::Step(std::string_view step) const {
  if (log_) log_->Fault(intent_.op, step);
}

Status IntentRecord::Advance(std::string phase) {
  intent_.phase = std::move(phase);
  return log_->Write(intent_);
}

Status IntentRecord::SetDomid(uint32_t domid) {
  intent_.domid = domid;
  return log_->Write(intent_);
}

IntentLog::IntentLog(std::string state_dir, std::string fault, std::function<bool()> stall_while)
    : dir_((fs::path(state_dir) / "intents").string()),
      fault_(std::move(fault)),
      stall_while_(std::move(stall_while)) {}

std::string IntentLog::PathOf(const std::string& uuid) const {
  return (fs::path(dir_) / (uuid + ".sxp")).string();
}

// A host crash ends the operations too: an intent need only outlive txend.
Status IntentLog::Write(const Intent& intent) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  return WriteStateFile(PathOf(intent.uuid), sxp::ToString(intent.ToSxp()) + "\n",
                        Durability::kProcessCrash);
}

Result<IntentRecord> IntentLog::Begin(Intent intent) const {
  TXEND_RETURN_IF_ERROR(Write(intent));
  IntentRecord record(this, std::move(intent));
  record.Step("intent");
  return record;
}

std::vector<Result<Intent>> IntentLog::Pending() const {
  std::vector<Result<Intent>> out;
  for (const std::string& file : ListStateFiles(dir_)) {
    auto intent = ReadIntent(file);
    if (!intent.ok()) intent = Status::Error(EINVAL, SetAsideUnreadable(file, intent.status()));
    out.push_back(std::move(intent));
  }
  return out;
}

void IntentLog::Remove(const std::string& uuid) const {
  RemoveStateFile(PathOf(uuid), Durability::kProcessCrash);
}

void IntentLog::Fault(std::string_view op, std::string_view step) const {
  if (fault_.empty()) return;
  std::string here = std::string(op) + "." + std::string(step);
  if (fault_ == here) raise(SIGKILL);
  if (fault_ != here + kStallSuffix) return;
  const auto until = std::chrono::steady_clock::now() + kStallFor;
  while (std::chrono::steady_clock::now() < until && (!stall_while_ || stall_while_()))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace txend::toolstack
