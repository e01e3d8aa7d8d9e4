#include "chunk_prefetcher.h"

#include <pthread.h>

#include <ctime>

namespace pcapd {

ChunkPrefetcher::~ChunkPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::optional<ChunkMemory> ChunkPrefetcher::TryTake() {
  std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || !spare_) return std::nullopt;
  std::optional<ChunkMemory> taken = std::move(spare_);
  spare_.reset();
  return taken;
}

void ChunkPrefetcher::Request() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (spare_ || wanted_) return;
    wanted_ = true;
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  wake_.notify_one();
}

void ChunkPrefetcher::Run() {
  pthread_setname_np(pthread_self(), "pcapd-prefetch");
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || wanted_; });
    if (stopping_) return;
    lock.unlock();
    std::optional<ChunkMemory> chunk;
    try {
      chunk = AllocateChunkMemory(chunkBytes_, ChunkFill::kPopulate);
    } catch (const std::bad_alloc&) {
      // The capture thread will map its own chunk (and fail loudly if it cannot).
    }
    timespec cpu{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    cpuNs_.store(static_cast<uint64_t>(cpu.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(cpu.tv_nsec),
                 std::memory_order_relaxed);
    lock.lock();
    spare_ = std::move(chunk);
    wanted_ = false;
  }
}

}  // namespace pcapd
