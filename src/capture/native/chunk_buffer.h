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
#include <memory>
#include <vector>

namespace pcapd {

struct Chunk {
  std::unique_ptr<uint8_t[]> data;
  size_t capacity = 0;
  size_t used = 0;
};

class ChunkBuffer {
 public:
  static constexpr size_t kFirstChunkBytes = 64 * 1024;
  static constexpr size_t kMaxChunkBytes = 4 * 1024 * 1024;

  ChunkBuffer() = default;
  ChunkBuffer(const ChunkBuffer&) = delete;
  ChunkBuffer& operator=(const ChunkBuffer&) = delete;
  ChunkBuffer(ChunkBuffer&&) = default;
  ChunkBuffer& operator=(ChunkBuffer&&) = default;

  void Append(const void* bytes, size_t length);
  // Appends `length` zero bytes (record padding).
  void AppendZeros(size_t length);

  template <typename T>
  void AppendValue(const T& value) {
    Append(&value, sizeof(T));
  }

  size_t size() const { return size_; }
  size_t allocated() const { return allocated_; }

  // Gives up every chunk; the buffer is empty afterwards.
  std::vector<Chunk> Release();

 private:
  Chunk& Tail(size_t wanted);

  std::vector<Chunk> chunks_;
  size_t size_ = 0;
  size_t allocated_ = 0;
};

}  // namespace pcapd
