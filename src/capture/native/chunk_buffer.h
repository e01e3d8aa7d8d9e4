// A growable byte buffer made of separately allocated chunks.
//
// Why chunks: pcapdaemon's contiguous buffer regrows by copying while the capture
// thread waits, and loses packets at 1514 B even at 5 kpps. Appending here never
// moves bytes already written; growth allocates one more chunk (64 KiB doubling up
// to 4 MiB), so the cost of an append is a memcpy of the record and nothing else.
// Finished chunks are handed to JavaScript as they are (no copy).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace pcapd {

// Chunk memory comes straight from mmap, so a chunk handed to JavaScript is
// freed with munmap by its finalizer, and large chunks can be populated ahead
// of time by a ChunkPrefetcher.
struct ChunkUnmapper {
  size_t capacity = 0;
  void operator()(uint8_t* data) const;
};
using ChunkMemory = std::unique_ptr<uint8_t, ChunkUnmapper>;

enum class ChunkFill { kOnTouch, kPopulate };

// Maps `capacity` bytes; throws std::bad_alloc when the kernel refuses.
// kPopulate faults every page in now (MAP_POPULATE): right on a helper thread,
// wrong on the capture thread, where it is one long stall.
ChunkMemory AllocateChunkMemory(size_t capacity, ChunkFill fill);

class ChunkPrefetcher;

struct Chunk {
  ChunkMemory data;
  size_t capacity = 0;
  size_t used = 0;
};

class ChunkBuffer {
 public:
  static constexpr size_t kFirstChunkBytes = 64 * 1024;
  static constexpr size_t kMaxChunkBytes = 4 * 1024 * 1024;

  ChunkBuffer() = default;
  // Large chunks are taken from `prefetcher` when it has one ready.
  explicit ChunkBuffer(ChunkPrefetcher* prefetcher) : prefetcher_(prefetcher) {}
  ChunkBuffer(const ChunkBuffer&) = delete;
  ChunkBuffer& operator=(const ChunkBuffer&) = delete;
  ChunkBuffer(ChunkBuffer&&) = default;
  ChunkBuffer& operator=(ChunkBuffer&&) = default;

  // The packet path: a record almost always fits in the current chunk.
  void Append(const void* bytes, size_t length) {
    if (!chunks_.empty()) {
      Chunk& tail = chunks_.back();
      if (tail.capacity - tail.used >= length) {
        std::memcpy(tail.data.get() + tail.used, bytes, length);
        tail.used += length;
        size_ += length;
        return;
      }
    }
    AppendSpanning(bytes, length);
  }
  // Appends `length` zero bytes (record padding).
  void AppendZeros(size_t length);

  // Makes the next `length` bytes fit in the tail chunk, allocating a new one
  // if they do not. Called before a record is written, so an allocation
  // failure (std::bad_alloc) leaves no half-written record behind; the rest
  // of a tail it skips is not part of the file (a chunk hands over `used`).
  void EnsureRoom(size_t length) {
    if (!chunks_.empty() && chunks_.back().capacity - chunks_.back().used >= length) return;
    AddChunk(length);
  }

  template <typename T>
  void AppendValue(const T& value) {
    Append(&value, sizeof(T));
  }

  size_t size() const { return size_; }
  size_t allocated() const { return allocated_; }

  // Gives up every chunk; the buffer is empty afterwards.
  std::vector<Chunk> Release();

 private:
  void AppendSpanning(const void* bytes, size_t length);
  Chunk& Tail(size_t wanted);
  Chunk& AddChunk(size_t wanted);

  ChunkMemory NewChunkMemory(size_t capacity);

  ChunkPrefetcher* prefetcher_ = nullptr;
  std::vector<Chunk> chunks_;
  size_t size_ = 0;
  size_t allocated_ = 0;
};

}  // namespace pcapd
