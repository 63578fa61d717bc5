// A grow-only, 64-byte aligned scratch buffer: kernels keep one per calling thread, so
// steady-state calls allocate nothing but their outputs.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>

namespace fastmlp {

// `bytes` of memory on a 64-byte boundary (nullptr if there is none), for std::free. For
// 4 MiB or more it asks Linux for transparent huge pages on the whole 2 MiB pages inside
// it, as NumPy does for its arrays: products that walk down the rows of a large C or
// through a large packed block otherwise miss the TLB on every other tile.
void* aligned_bytes(size_t bytes);

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(ptr_); }

  template <class T>
  T* get(size_t count) {
    const size_t bytes = (count * sizeof(T) + 4096) / 4096 * 4096;
    if (bytes > size_) {
      std::free(ptr_);
      ptr_ = aligned_bytes(bytes);
      size_ = ptr_ ? bytes : 0;
      if (!ptr_) throw std::bad_alloc();
    }
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace fastmlp
