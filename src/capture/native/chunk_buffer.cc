#include "chunk_buffer.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "chunk_prefetcher.h"

namespace pcapd {

void ChunkUnmapper::operator()(uint8_t* data) const {
  if (data != nullptr) munmap(data, capacity);
}

ChunkMemory AllocateChunkMemory(size_t capacity, ChunkFill fill) {
  const int flags = MAP_PRIVATE | MAP_ANONYMOUS | (fill == ChunkFill::kPopulate ? MAP_POPULATE : 0);
  void* data = mmap(nullptr, capacity, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (data == MAP_FAILED) throw std::bad_alloc();
  return ChunkMemory(static_cast<uint8_t*>(data), ChunkUnmapper{capacity});
}

Chunk& ChunkBuffer::Tail(size_t wanted) {
  if (chunks_.empty() || chunks_.back().used == chunks_.back().capacity) AddChunk(wanted);
  return chunks_.back();
}

Chunk& ChunkBuffer::AddChunk(size_t wanted) {
  size_t next = chunks_.empty() ? kFirstChunkBytes : std::min(chunks_.back().capacity * 2, kMaxChunkBytes);
  // A first record larger than the first chunk gets a chunk of its own size
  // rounded up, so small captures of jumbo frames do not split every record.
  next = std::max(next, std::min(wanted, kMaxChunkBytes));
  Chunk chunk;
  chunk.data = NewChunkMemory(next);
  chunk.capacity = next;
  allocated_ += next;
  chunks_.push_back(std::move(chunk));
  return chunks_.back();
}

namespace {

// Test hook: PCAPD_TEST_CHUNK_LIMIT_BYTES makes a buffer's allocation fail
// (std::bad_alloc) once its chunks would exceed that many bytes, so tests can
// drive the out-of-memory path of a running capture. Read once; unset in
// production, where it costs one comparison per chunk.
size_t TestChunkLimitBytes() {
  static const size_t limit = [] {
    const char* text = std::getenv("PCAPD_TEST_CHUNK_LIMIT_BYTES");
    return text == nullptr ? size_t{0} : static_cast<size_t>(std::strtoull(text, nullptr, 10));
  }();
  return limit;
}

}  // namespace

ChunkMemory ChunkBuffer::NewChunkMemory(size_t capacity) {
  const size_t limit = TestChunkLimitBytes();
  if (limit != 0 && allocated_ + capacity > limit) throw std::bad_alloc();
  if (prefetcher_ == nullptr || capacity != prefetcher_->chunkBytes()) {
    return AllocateChunkMemory(capacity, ChunkFill::kOnTouch);
  }
  std::optional<ChunkMemory> ready = prefetcher_->TryTake();
  prefetcher_->Request();  // the next one
  return ready ? std::move(*ready) : AllocateChunkMemory(capacity, ChunkFill::kOnTouch);
}

void ChunkBuffer::AppendSpanning(const void* bytes, size_t length) {
  const auto* from = static_cast<const uint8_t*>(bytes);
  while (length > 0) {
    Chunk& tail = Tail(length);
    const size_t n = std::min(length, tail.capacity - tail.used);
    std::memcpy(tail.data.get() + tail.used, from, n);
    tail.used += n;
    size_ += n;
    from += n;
    length -= n;
  }
}

void ChunkBuffer::AppendZeros(size_t length) {
  while (length > 0) {
    Chunk& tail = Tail(length);
    const size_t n = std::min(length, tail.capacity - tail.used);
    std::memset(tail.data.get() + tail.used, 0, n);
    tail.used += n;
    size_ += n;
    length -= n;
  }
}

std::vector<Chunk> ChunkBuffer::Release() {
  std::vector<Chunk> out = std::move(chunks_);
  chunks_.clear();
  size_ = 0;
  allocated_ = 0;
  return out;
}

}  // namespace pcapd
