#pragma once
// UvHandle<H>: a libuv handle that owns its memory. The handle lives on the
// heap and is freed in its close callback, the one moment libuv is done with
// it, so whoever holds it may open another (a new uv_poll_t for a new socket)
// or be destroyed while the old one is still closing. Destroying an open
// UvHandle closes it.
//
// Loop thread only.

#include <uv.h>

#include <functional>
#include <memory>
#include <utility>

namespace seesaw::detail {

template <class H>
class UvHandle {
public:
    UvHandle() = default;
    UvHandle(const UvHandle&) = delete;
    UvHandle& operator=(const UvHandle&) = delete;
    UvHandle(UvHandle&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
    UvHandle& operator=(UvHandle&& other) noexcept {
        if (this != &other) {
            close();
            block_ = std::exchange(other.block_, nullptr);
        }
        return *this;
    }
    ~UvHandle() { close(); }

    // Allocates a handle and initialises it: init(H*) is the uv_*_init call
    // and returns its code. On 0 the handle is open (closing the one held
    // before); otherwise nothing was opened and the code is returned.
    template <class Init>
    int open(Init&& init) {
        auto block = std::make_unique<Block>();
        const int rc = std::forward<Init>(init)(&block->handle);
        if (rc != 0) return rc;
        close();
        block_ = block.release();
        return 0;
    }

    H* get() const noexcept { return block_ != nullptr ? &block_->handle : nullptr; }
    uv_handle_t* handle() const noexcept { return reinterpret_cast<uv_handle_t*>(get()); }
    explicit operator bool() const noexcept { return block_ != nullptr; }

    // uv_close; `closed` (which must not throw) runs from the close callback,
    // after the memory is freed. Empty afterwards. Nothing open: nothing
    // happens (closed does not run).
    void close(std::function<void()> closed = nullptr) noexcept {
        if (block_ == nullptr) return;
        Block* block = std::exchange(block_, nullptr);
        auto* handle = reinterpret_cast<uv_handle_t*>(&block->handle);
        // Closed by someone else (a uv_walk over the loop): their callback
        // runs instead of ours, so the memory must stay.
        if (uv_is_closing(handle) != 0) return;
        // No callback of the handle runs once it is closing: data is ours now.
        block->closed = std::move(closed);
        handle->data = block;
        uv_close(handle, &UvHandle::on_closed);
    }

private:
    struct Block {
        H handle{};
        std::function<void()> closed;
    };

    static void on_closed(uv_handle_t* handle) noexcept {
        std::unique_ptr<Block> block(static_cast<Block*>(handle->data));
        auto closed = std::move(block->closed);
        block.reset();
        if (closed) closed();
    }

    Block* block_ = nullptr;
};

}  // namespace seesaw::detail
