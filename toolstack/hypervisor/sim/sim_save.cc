// SimHypervisor's save, restore and core dump: the memory and vcpu state of a
// domain written to and read from a save stream (save_stream.h). File I/O
// and the caller's callbacks run with the mutex released; each step looks
// the domain up again, so a domain destroyed meanwhile ends the operation.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "base/host_files.h"
#include "base/unique_fd.h"
#include "toolstack/hypervisor/hypervisor_validation.h"
#include "toolstack/hypervisor/sim/save_stream.h"
#include "toolstack/hypervisor/sim/sim_domain.h"
#include "toolstack/hypervisor/sim/sim_hypervisor.h"

namespace txend::toolstack {
namespace {

constexpr size_t kBatchPages = 1024;

std::string Dom(DomId domid) { return "domain " + std::to_string(domid); }

std::vector<uint64_t> AllPfns(uint64_t nr_pages) {
  std::vector<uint64_t> pfns(nr_pages);
  for (uint64_t p = 0; p < nr_pages; ++p) pfns[p] = p;
  return pfns;
}

std::vector<uint64_t> Union(std::vector<uint64_t> a, const std::vector<uint64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  return a;
}

Status Prefixed(const Status& st, const std::string& prefix) {
  if (st.ok()) return st;
  return Status::Error(st.code(), prefix + ": " + st.message());
}

}  // namespace

struct SimHypervisor::SaveState {
  SavedDomain image;
  bool live = false;
};

Status SimHypervisor::Save(DomId domid, int fd, const SaveRequest& request) {
  if (!request.suspend)
    return Status::Error(EINVAL, "saving " + Dom(domid) + " needs a suspend callback");
  return WriteStream(domid, fd, &request);
}

Status SimHypervisor::DumpCore(DomId domid, const std::string& path) {
  TXEND_ASSIGN_OR_RETURN(UniqueFd fd, CreateRegularFileToWrite(path, "core file"));
  Status st = WriteStream(domid, fd.get(), nullptr);
  if (::close(fd.release()) != 0 && st.ok())  // checked: close can report a failed write
    st = Status::Error(errno, "core file " + path + ": " + std::strerror(errno));
  if (!st.ok()) ::unlink(path.c_str());
  return st;
}

Status SimHypervisor::WriteStream(DomId domid, int fd, const SaveRequest* request) {
  bool live = request && request->live;
  TXEND_ASSIGN_OR_RETURN(SaveState state, BeginSave(domid, live, request != nullptr));
  // As libxc: an HVM container's device model tracks dirty pages during the save.
  bool logdirty = request && state.image.hvm && request->device_model_logdirty;
  Status st = logdirty ? request->device_model_logdirty(true) : Status::Ok();
  if (st.ok()) st = WriteMemory(domid, fd, state, request);
  if (logdirty) {
    Status off = request->device_model_logdirty(false);
    if (st.ok()) st = off;
  }
  if (live) {
    Locked([&](Events&) {
      if (auto d = Find(domid); d.ok()) (*d)->memory.DisableLogDirty();
      return 0;
    });
  }
  return st;
}

Result<SimHypervisor::SaveState> SimHypervisor::BeginSave(DomId domid, bool live, bool suspend) {
  return Locked([&](Events&) -> Result<SaveState> {
    TXEND_RETURN_IF_ERROR(NotDom0(domid, suspend ? "save" : "dump the core of"));
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    if (!d->built) return Status::Error(EINVAL, Dom(domid) + " has no guest to save (never built)");
    if (d->memory.log_dirty()) return Status::Error(EBUSY, Dom(domid) + " is already being saved");
    SaveState s;
    s.image = {d->hvm,       d->ssidref,           static_cast<uint32_t>(d->vcpus.size()),
               d->max_pages, d->memory.nr_pages(), d->memory.seed()};
    s.live = live;
    if (live) d->memory.EnableLogDirty();
    return s;
  });
}

Status SimHypervisor::WriteMemory(DomId domid, int fd, const SaveState& state,
                                  const SaveRequest* request) {
  SaveStreamWriter writer(fd);
  TXEND_RETURN_IF_ERROR(writer.WriteHeader());
  TXEND_RETURN_IF_ERROR(writer.WriteRecord(RecordType::kDomain, EncodeDomain(state.image)));
  std::vector<uint64_t> pending = AllPfns(state.image.nr_pages);
  if (state.live) {
    auto policy = request->precopy_policy ? request->precopy_policy : DefaultPrecopyPolicy;
    PrecopyStats stats{0, 0, static_cast<int64_t>(pending.size())};
    while (true) {
      PrecopyDecision decision = policy(stats);
      if (decision == PrecopyDecision::kAbort)
        return Status::Error(ECANCELED,
                             "live save of " + Dom(domid) + " aborted by the precopy policy");
      if (decision == PrecopyDecision::kStopAndCopy) break;
      TXEND_RETURN_IF_ERROR(SendPages(domid, writer, pending));
      stats.total_written += pending.size();
      TXEND_ASSIGN_OR_RETURN(pending, TakeDirty(domid));
      ++stats.iteration;
      stats.dirty_count = static_cast<int64_t>(pending.size());
    }
  }
  if (request) {
    TXEND_RETURN_IF_ERROR(WaitSuspended(domid, *request));
    if (state.live) {
      TXEND_ASSIGN_OR_RETURN(auto last, TakeDirty(domid));
      pending = Union(std::move(pending), last);
    }
  }
  TXEND_RETURN_IF_ERROR(SendPages(domid, writer, pending));
  auto context = Locked([&](Events&) -> Result<SavedContext> {
    TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
    SavedContext c;
    for (const auto& v : d->vcpus) c.vcpus.push_back({v.online, v.blocked, v.affinity});
    c.credit = d->credit;
    c.store_pfn = d->store_pfn;
    c.console_pfn = d->console_pfn;
    c.shadow_kib = d->shadow_kib;
    return c;
  });
  if (!context.ok()) return context.status();
  TXEND_RETURN_IF_ERROR(writer.WriteRecord(RecordType::kContext, EncodeContext(*context)));
  return writer.WriteRecord(RecordType::kEnd, "");
}

Status SimHypervisor::SendPages(DomId domid, SaveStreamWriter& writer,
                                const std::vector<uint64_t>& pfns) {
  for (size_t start = 0; start < pfns.size(); start += kBatchPages) {
    size_t count = std::min(kBatchPages, pfns.size() - start);
    auto batch = Locked([&](Events&) -> Result<PageBatch> {
      TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
      PageBatch b;
      b.pfns.assign(pfns.begin() + static_cast<long>(start),
                    pfns.begin() + static_cast<long>(start + count));
      b.data.resize(count * GuestMemory::kPageSize);
      for (size_t i = 0; i < count; ++i) {
        auto* out = reinterpret_cast<uint8_t*>(b.data.data()) + i * GuestMemory::kPageSize;
        TXEND_RETURN_IF_ERROR(d->memory.Read(
            b.pfns[i], std::span<uint8_t, GuestMemory::kPageSize>(out, GuestMemory::kPageSize)));
      }
      return b;
    });
    if (!batch.ok()) return Prefixed(batch.status(), "saving " + Dom(domid));
    TXEND_RETURN_IF_ERROR(writer.WriteRecord(RecordType::kPageData, EncodePages(*batch)));
  }
  return Status::Ok();
}

Result<std::vector<uint64_t>> SimHypervisor::TakeDirty(DomId domid) {
  return Locked([&](Events&) -> Result<std::vector<uint64_t>> {
    TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
    return d->memory.TakeDirty();
  });
}

Status SimHypervisor::WaitSuspended(DomId domid, const SaveRequest& request) {
  TXEND_RETURN_IF_ERROR(Prefixed(request.suspend(), "suspending " + Dom(domid)));
  return Locked([&](Events&) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    if (!d->shutdown || d->reason != ShutdownReason::kSuspend)
      return Status::Error(
          EINVAL, Dom(domid) + " did not suspend (state " + InfoOf(*d).StateString() + ")");
    return Status::Ok();
  });
}

Result<GuestRings> SimHypervisor::Restore(DomId domid, int fd, const RestoreRequest& request) {
  Status ready = Locked([&](Events&) -> Status {
    TXEND_RETURN_IF_ERROR(NotDom0(domid, "restore into"));
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    if (d->built || d->memory.nr_pages() > 0)
      return Status::Error(EBUSY, Dom(domid) + " is already built");
    TXEND_RETURN_IF_ERROR(CheckPort(*d, request.store_port, "store"));
    return CheckPort(*d, request.console_port, "console");
  });
  TXEND_RETURN_IF_ERROR(ready);
  Status st = ReadStream(domid, fd, request);
  if (!st.ok()) {
    AbandonRestore(domid);
    return Prefixed(st, "restoring " + Dom(domid));
  }
  return Locked([&](Events&) -> Result<GuestRings> {
    TXEND_ASSIGN_OR_RETURN(Domain * d, Find(domid));
    return GuestRings{d->mfn_base + d->store_pfn, d->mfn_base + d->console_pfn};
  });
}

Status SimHypervisor::ReadStream(DomId domid, int fd, const RestoreRequest& request) {
  SaveStreamReader reader(fd);
  TXEND_RETURN_IF_ERROR(reader.ReadHeader());
  TXEND_ASSIGN_OR_RETURN(Record first, reader.ReadRecord());
  if (first.type != RecordType::kDomain)
    return Status::Error(EINVAL, "corrupt save image: no DOMAIN record");
  TXEND_ASSIGN_OR_RETURN(SavedDomain image, DecodeDomain(first.payload));
  TXEND_RETURN_IF_ERROR(AllocateFromImage(domid, image));
  std::optional<SavedContext> context;
  uint64_t pages_left = kMaxPagePasses * image.nr_pages;
  while (true) {
    TXEND_ASSIGN_OR_RETURN(Record rec, reader.ReadRecord());
    if (rec.type == RecordType::kEnd) break;
    if (rec.type == RecordType::kDomain || context)
      return Status::Error(EINVAL, "corrupt save image: record after CONTEXT or second DOMAIN");
    if (rec.type == RecordType::kPageData) {
      TXEND_ASSIGN_OR_RETURN(PageBatch batch, DecodePages(rec.payload));
      if (batch.pfns.size() > pages_left)
        return Status::Error(EINVAL, "corrupt save image: more page data than " +
                                         std::to_string(kMaxPagePasses) + " copies of every page");
      pages_left -= batch.pfns.size();
      TXEND_RETURN_IF_ERROR(LoadPages(domid, batch));
    } else {
      TXEND_ASSIGN_OR_RETURN(context, DecodeContext(rec.payload));
    }
  }
  if (!context) return Status::Error(EINVAL, "corrupt save image: no CONTEXT record");
  return FinishRestore(domid, *context, request);
}

Status SimHypervisor::AllocateFromImage(DomId domid, const SavedDomain& image) {
  return Locked([&](Events&) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    if (image.hvm != d->hvm)
      return Status::Error(EINVAL, std::string("image is of an ") + (image.hvm ? "HVM" : "PV") +
                                       " guest, " + Dom(domid) + " is " + (d->hvm ? "HVM" : "PV"));
    if (image.vcpus == 0 || image.vcpus > d->vcpus.size())
      return Status::Error(EINVAL, "image has " + std::to_string(image.vcpus) + " vcpus, " +
                                       Dom(domid) + " " + std::to_string(d->vcpus.size()));
    if (image.nr_pages < 2 || image.nr_pages > d->max_pages)
      return Status::Error(ENOMEM, "image needs " + std::to_string(image.nr_pages * kPageKib) +
                                       " KiB, " + Dom(domid) + "'s maximum is " +
                                       std::to_string(d->max_pages * kPageKib) + " KiB");
    TXEND_RETURN_IF_ERROR(Reserve(image.nr_pages * kPageKib));
    d->memory = GuestMemory(image.memory_seed, image.nr_pages);
    return Status::Ok();
  });
}

Status SimHypervisor::LoadPages(DomId domid, const PageBatch& batch) {
  return Locked([&](Events&) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    for (size_t i = 0; i < batch.pfns.size(); ++i) {
      const auto* page =
          reinterpret_cast<const uint8_t*>(batch.data.data()) + i * GuestMemory::kPageSize;
      Status st = d->memory.Write(batch.pfns[i], std::span<const uint8_t, GuestMemory::kPageSize>(
                                                     page, GuestMemory::kPageSize));
      if (!st.ok()) return Status::Error(EINVAL, "corrupt save image: " + st.message());
    }
    return Status::Ok();
  });
}

Status SimHypervisor::FinishRestore(DomId domid, const SavedContext& context,
                                    const RestoreRequest& request) {
  return Locked([&](Events& events) -> Status {
    TXEND_ASSIGN_OR_RETURN(Domain * d, FindLive(domid));
    uint64_t pages = d->memory.nr_pages();
    if (context.store_pfn >= pages || context.console_pfn >= pages ||
        context.vcpus.size() > d->vcpus.size())
      return Status::Error(EINVAL, "corrupt save image: bad CONTEXT record");
    for (size_t i = 0; i < context.vcpus.size(); ++i) {
      const auto& saved = context.vcpus[i];
      auto& v = d->vcpus[i];
      v.online = saved.online;
      v.blocked = saved.blocked;
      CpuSet usable;
      for (uint32_t cpu : saved.affinity.ToVector())
        if (cpu < options_.nr_cpus) usable.Add(cpu);
      v.affinity = usable.Empty() ? CpuSet::FirstN(options_.nr_cpus) : usable;
    }
    if (ValidateSchedCredit(context.credit, static_cast<uint32_t>(d->vcpus.size())).ok())
      d->credit = context.credit;
    d->store_pfn = context.store_pfn;
    d->console_pfn = context.console_pfn;
    StartGuest(*d, request.store_port, request.console_port, true, events);
    return Status::Ok();
  });
}

void SimHypervisor::AbandonRestore(DomId domid) {
  Locked([&](Events&) {
    if (auto d = Find(domid); d.ok() && !(*d)->built) (*d)->memory = GuestMemory();
    return 0;
  });
}

}  // namespace txend::toolstack
