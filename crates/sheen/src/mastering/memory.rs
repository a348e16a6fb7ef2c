//! Large buffers of a mastering job (the decoded input, the recorded
//! front): asking the kernel for transparent huge pages where it offers
//! them only on request (Linux's `madvise` mode), so filling a buffer of
//! tens of megabytes takes one page fault per 2 MiB instead of one per
//! 4 KiB, and freeing it is as cheap. Advisory only: the contents and every
//! result are the same with or without it.

/// Buffers smaller than this are left alone (a huge page is 2 MiB).
const MIN_BYTES: usize = 4 << 20;

/// Asks for huge pages for the spare capacity of `v` (call it right after
/// reserving, before the memory is touched). No effect on other systems, on
/// small buffers, or when the kernel declines.
pub fn prefer_huge_pages<T>(v: &mut Vec<T>) {
    let bytes = v.capacity().saturating_mul(std::mem::size_of::<T>());
    if bytes < MIN_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const MADV_HUGEPAGE: i32 = 14;
        const PAGE: usize = 4096;
        extern "C" {
            fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: i32) -> i32;
        }
        let at = v.as_mut_ptr() as usize;
        let (start, end) = ((at + PAGE - 1) & !(PAGE - 1), (at + bytes) & !(PAGE - 1));
        if end > start {
            // SAFETY: the range lies within `v`'s own allocation (page
            // aligned inwards); MADV_HUGEPAGE changes no contents and no
            // mapping, only how the kernel backs the pages (the call fails
            // harmlessly where unsupported, its result is not needed).
            unsafe {
                madvise(start as *mut std::ffi::c_void, end - start, MADV_HUGEPAGE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The advice changes nothing a program can see: a reserved buffer
    /// filled after it holds what was written, small and empty ones are
    /// left alone. Reference: the values written.
    #[test]
    fn advice_keeps_contents() {
        for cap in [0usize, 10, 3 << 20] {
            let mut v: Vec<f64> = Vec::with_capacity(cap);
            prefer_huge_pages(&mut v);
            v.extend((0..cap).map(|i| i as f64));
            assert!(v.iter().enumerate().all(|(i, &x)| x == i as f64));
            assert_eq!(v.len(), cap);
        }
    }
}
