//! Large allocations straight from the kernel.
//!
//! The analyzer's columns are tens to hundreds of megabytes each and live for
//! one phase or for the snapshot's lifetime. glibc serves allocations below its
//! adaptive mmap threshold (which climbs to 32 MiB after the first large free)
//! from the heap, and a freed column in the middle of the heap is not given
//! back, so a process's peak RSS ends up counting phases that already ended.
//! Mapping every allocation of at least `MAP_THRESHOLD` bytes on its own makes
//! each free return its pages at once, lets `vec![0; n]` stay uncommitted
//! until written, and lets a growing Vec move by `mremap` instead of copying.
//! Smaller allocations go to the system allocator unchanged.

use std::alloc::{GlobalAlloc, Layout, System};

/// Below this, the system allocator is faster and fragmentation is harmless.
const MAP_THRESHOLD: usize = 1 << 20;
const PAGE: usize = 4096;

pub struct LargeMappedAlloc;

#[inline]
fn mapped(layout: &Layout) -> bool {
    layout.size() >= MAP_THRESHOLD && layout.align() <= PAGE
}

unsafe fn map(size: usize) -> *mut u8 {
    let p = libc::mmap(
        std::ptr::null_mut(),
        size,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
        -1,
        0,
    );
    if p == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        p.cast()
    }
}

unsafe impl GlobalAlloc for LargeMappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if mapped(&layout) {
            map(layout.size())
        } else {
            System.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if mapped(&layout) {
            // Fresh anonymous pages read as zero.
            map(layout.size())
        } else {
            System.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if mapped(&layout) {
            libc::munmap(ptr.cast(), layout.size());
        } else {
            System.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        match (mapped(&layout), mapped(&new_layout)) {
            (false, false) => System.realloc(ptr, layout, new_size),
            (true, true) => {
                let p = libc::mremap(ptr.cast(), layout.size(), new_size, libc::MREMAP_MAYMOVE);
                if p == libc::MAP_FAILED {
                    std::ptr::null_mut()
                } else {
                    p.cast()
                }
            }
            _ => {
                let p = self.alloc(new_layout);
                if !p.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                p
            }
        }
    }
}

/// A zeroed Vec for an array that is read at random before it is written.
///
/// Fresh anonymous pages are mapped to the shared zero page on a read, and the
/// first write to each page then copies it and flushes that page from the TLB
/// of every CPU the process runs on: in a VM each flush is an interrupt to the
/// other cores, many times the cost of the fault itself. Writing every page
/// first, in order, leaves only plain faults.
pub fn zeroed_prewritten<T: Copy + Default>(len: usize) -> Vec<T> {
    let mut v = vec![T::default(); len];
    let step = (PAGE / std::mem::size_of::<T>().max(1)).max(1);
    // One element per page's worth, and the last: the buffer need not start
    // on a page boundary, so the last page may hold only its tail.
    let last = len.checked_sub(1);
    for i in (0..len).step_by(step).chain(last) {
        // Volatile, so the store of a zero into memory known to be zero is
        // not optimised away.
        // SAFETY: `i < len`, so the pointer is in bounds and aligned.
        unsafe { std::ptr::write_volatile(v.as_mut_ptr().add(i), T::default()) };
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_blocks_round_trip_through_growth_and_shrink() {
        let a = LargeMappedAlloc;
        unsafe {
            let small = Layout::from_size_align(64, 8).unwrap();
            let p = a.alloc(small);
            p.write_bytes(7, 64);
            // small -> large -> larger -> small keeps the prefix intact
            let p = a.realloc(p, small, 3 << 20);
            assert_eq!(*p.add(63), 7);
            p.add(3 << 20).sub(1).write(9);
            let large = Layout::from_size_align(3 << 20, 8).unwrap();
            let p = a.realloc(p, large, 9 << 20);
            assert_eq!((*p.add(63), *p.add((3 << 20) - 1)), (7, 9));
            let larger = Layout::from_size_align(9 << 20, 8).unwrap();
            let p = a.realloc(p, larger, 32);
            assert_eq!(*p.add(31), 7);
            a.dealloc(p, Layout::from_size_align(32, 8).unwrap());

            let zeroed = a.alloc_zeroed(Layout::from_size_align(2 << 20, 8).unwrap());
            assert!((0..2 << 20).step_by(4093).all(|i| *zeroed.add(i) == 0));
            a.dealloc(zeroed, Layout::from_size_align(2 << 20, 8).unwrap());
        }
    }

    #[test]
    fn prewritten_vectors_are_zero_to_the_last_element() {
        for len in [0usize, 1, 1023, 1024, 1025, (3 << 20) + 5] {
            let v: Vec<u32> = zeroed_prewritten(len);
            assert_eq!(v.len(), len);
            assert!(v.iter().all(|&x| x == 0));
        }
        let wide: Vec<u64> = zeroed_prewritten(700_001);
        assert_eq!((wide.len(), wide.iter().max()), (700_001, Some(&0)));
    }

    /// The point of the function: every page is committed before anyone
    /// reads it. 40 MiB is above glibc's largest mmap threshold, so without
    /// the writes the pages would still be untouched; the odd tail of 1023
    /// elements reaches a page past the last page-sized step whenever the
    /// buffer starts past a page boundary (glibc's mapped chunks do).
    #[cfg(target_os = "linux")]
    #[test]
    fn prewritten_vectors_have_every_page_committed() {
        let v: Vec<u32> = zeroed_prewritten((40 << 20) / 4 + 1023);
        let start = v.as_ptr() as usize;
        let end = start + v.len() * 4;
        let first_page = start - start % PAGE;
        let pages = (end - first_page).div_ceil(PAGE);
        let mut resident = vec![0u8; pages];
        // SAFETY: the range lies within `v`'s pages, and `resident` has one
        // byte per page, as mincore requires.
        let r = unsafe {
            libc::mincore(
                first_page as *mut libc::c_void,
                end - first_page,
                resident.as_mut_ptr(),
            )
        };
        assert_eq!(r, 0);
        let missing = resident.iter().filter(|&&b| b & 1 == 0).count();
        assert_eq!(missing, 0, "{missing} of {pages} pages never written");
    }
}
