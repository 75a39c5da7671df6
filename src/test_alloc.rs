//! Counts the bytes each test thread has allocated and not yet freed, so a
//! test can hold a structure's own memory accounting against the allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    // A const-initialised Cell needs no destructor, so using it from inside
    // the allocator cannot recurse into thread-local setup.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn add(n: isize) {
    // Fails only while the thread is being torn down, when nobody reads it.
    let _ = LIVE.try_with(|c| c.set(c.get() + n));
}

struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Bytes allocated on this thread and not freed (frees of memory allocated
/// elsewhere count against it too).
pub fn live_bytes() -> isize {
    LIVE.with(Cell::get)
}
