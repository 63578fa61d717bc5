// A grow-only, 64-byte aligned scratch buffer: kernels keep one per calling thread, so
// steady-state calls allocate nothing but their outputs.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>

namespace fastmlp {

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
      ptr_ = std::aligned_alloc(64, bytes);
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
