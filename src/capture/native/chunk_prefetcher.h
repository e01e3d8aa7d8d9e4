// Prepares the next large chunk on a helper thread, so the capture thread never
// stalls on page faults.
//
// Why: in a VM a fresh 4 KiB page costs ~2.6 µs to fault in; a 4 MiB chunk
// populated on the capture thread is a ~2.7 ms stall, longer than a small ring
// holds at 1514 B frames (measured: 10% loss with a 1 MiB ring). The helper
// thread maps and populates one spare chunk ahead; the capture thread takes it
// without blocking, or maps one itself (unpopulated, faults spread over the
// packets) when the spare is not ready yet.
//
// Threads: TryTake() and Request() run on the capture thread; Run() on the
// helper thread, started lazily by the first Request().
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "chunk_buffer.h"

namespace pcapd {

class ChunkPrefetcher {
 public:
  explicit ChunkPrefetcher(size_t chunkBytes) : chunkBytes_(chunkBytes) {}
  ~ChunkPrefetcher();
  ChunkPrefetcher(const ChunkPrefetcher&) = delete;
  ChunkPrefetcher& operator=(const ChunkPrefetcher&) = delete;

  size_t chunkBytes() const { return chunkBytes_; }
  // A populated chunk if one is ready; never blocks on the helper's work.
  std::optional<ChunkMemory> TryTake();
  // Asks for one spare chunk to be prepared (no-op when one is ready or pending).
  void Request();
  // CPU time the helper thread has spent so far (benchmarks count it too).
  uint64_t cpuNs() const { return cpuNs_.load(std::memory_order_relaxed); }

 private:
  void Run();

  const size_t chunkBytes_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<ChunkMemory> spare_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::atomic<uint64_t> cpuNs_{0};
  std::thread thread_;
};

}  // namespace pcapd
