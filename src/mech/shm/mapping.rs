//! The mapping every shared-memory mechanism of the suite works through (POSIX
//! shm, System V shm, memory-mapped files): volatile and atomic access only.

use std::ffi::c_void;
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU32;

enum Release {
    #[cfg(unix)]
    Munmap,
    #[cfg(all(unix, not(target_os = "android")))]
    Shmdt,
    #[cfg(windows)]
    UnmapView,
}

/// A shared mapping: memory that other processes may change at any time.
/// Every access goes through volatile byte copies or atomics, never through
/// Rust references to plain data, so concurrent stores by another process are
/// never a data race in this process's view.
pub struct Mapping {
    ptr: NonNull<c_void>,
    len: usize,
    release: Release,
}

// SAFETY: a Mapping is a pointer to memory that stays mapped until drop; all
// access is volatile or atomic, so sharing it between threads is the same as
// sharing the memory between processes, which the type is made for.
unsafe impl Send for Mapping {}
// SAFETY: see Send.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// mmap(2) of `len` bytes of `fd` from offset 0.
    #[cfg(unix)]
    pub fn map(
        fd: std::os::fd::BorrowedFd<'_>,
        len: usize,
        prot: nix::sys::mman::ProtFlags,
        flags: nix::sys::mman::MapFlags,
    ) -> io::Result<Mapping> {
        let length = std::num::NonZeroUsize::new(len)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: the kernel chooses the address (None), so the new mapping
        // overlaps no memory Rust owns; the pointer is kept only in this
        // Mapping, which unmaps it exactly once, on drop.
        let ptr = unsafe { nix::sys::mman::mmap(None, length, prot, flags, fd, 0) }?;
        Ok(Mapping {
            ptr,
            len,
            release: Release::Munmap,
        })
    }

    /// Wraps a System V attachment (released with shmdt).
    ///
    /// # Safety
    /// `ptr` must be the address shmat(2) returned, attached for at least `len`
    /// bytes, and not be detached by anyone else.
    #[cfg(all(unix, not(target_os = "android")))]
    pub unsafe fn from_shmat(ptr: NonNull<c_void>, len: usize) -> Mapping {
        Mapping {
            ptr,
            len,
            release: Release::Shmdt,
        }
    }

    /// Wraps a view of a Windows file mapping (released with UnmapViewOfFile).
    ///
    /// # Safety
    /// `ptr` must be the address MapViewOfFile returned for a view of at least
    /// `len` bytes, and not be unmapped by anyone else.
    #[cfg(windows)]
    pub unsafe fn from_view(ptr: NonNull<c_void>, len: usize) -> Mapping {
        Mapping {
            ptr,
            len,
            release: Release::UnmapView,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first byte of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr().cast()
    }

    fn check(&self, off: usize, len: usize) {
        assert!(
            off.checked_add(len).is_some_and(|end| end <= self.len),
            "access [{off}, +{len}) outside a {}-byte mapping",
            self.len
        );
    }

    /// A pointer to byte `off`, for structures placed in the mapping
    /// (sem_t, pthread objects); `len` bytes from there must be inside.
    pub fn at(&self, off: usize, len: usize) -> *mut u8 {
        self.check(off, len);
        // SAFETY: in bounds (checked above) of a live mapping.
        unsafe { self.as_ptr().add(off) }
    }

    /// The u32 at `off` (4-aligned), as an atomic shared with other processes.
    pub fn atomic(&self, off: usize) -> &AtomicU32 {
        assert!(off % 4 == 0, "unaligned atomic at {off}");
        let p = self.at(off, 4);
        // SAFETY: in bounds and 4-aligned (mappings start on a page boundary);
        // the memory stays mapped for the lifetime of &self; AtomicU32 has the
        // layout of u32, and every process of the suite touches these words
        // only with atomic operations.
        unsafe { AtomicU32::from_ptr(p.cast()) }
    }

    /// Copies `len` bytes out with volatile loads.
    pub fn read(&self, off: usize, len: usize) -> Vec<u8> {
        let p = self.at(off, len);
        // SAFETY: [off, off+len) is inside the live mapping (checked in `at`);
        // volatile loads read whatever is there without assuming it is stable.
        (0..len)
            .map(|i| unsafe { std::ptr::read_volatile(p.add(i)) })
            .collect()
    }

    /// Stores bytes with volatile stores. Through a mapping without
    /// PROT_WRITE this traps (the read-only probe relies on that).
    pub fn write(&self, off: usize, data: &[u8]) {
        let p = self.at(off, data.len());
        for (i, b) in data.iter().enumerate() {
            // SAFETY: inside the live mapping (checked in `at`); the memory is
            // not aliased by any Rust reference, only by other processes.
            unsafe { std::ptr::write_volatile(p.add(i), *b) };
        }
    }

    /// Writes the mapping back to its file: msync(MS_SYNC), or FlushViewOfFile.
    pub fn sync(&self) -> io::Result<()> {
        cfg_if::cfg_if! {
            if #[cfg(unix)] {
                // SAFETY: the whole live mapping, page-aligned at its start.
                unsafe { nix::sys::mman::msync(self.ptr, self.len, nix::sys::mman::MsFlags::MS_SYNC) }?;
            } else {
                // SAFETY: the whole live view.
                let ok = unsafe { windows_sys::Win32::System::Memory::FlushViewOfFile(self.ptr.as_ptr(), self.len) };
                if ok == 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        match self.release {
            // SAFETY: the mapping this value made; nothing refers to it after
            // drop (accessors borrow self).
            #[cfg(unix)]
            Release::Munmap => unsafe {
                let _ = nix::sys::mman::munmap(self.ptr, self.len);
            },
            // SAFETY: the attachment shmat returned (contract of from_shmat).
            #[cfg(all(unix, not(target_os = "android")))]
            Release::Shmdt => unsafe {
                libc::shmdt(self.ptr.as_ptr());
            },
            // SAFETY: the view MapViewOfFile returned (contract of from_view).
            #[cfg(windows)]
            Release::UnmapView => unsafe {
                windows_sys::Win32::System::Memory::UnmapViewOfFile(
                    windows_sys::Win32::System::Memory::MEMORY_MAPPED_VIEW_ADDRESS {
                        Value: self.ptr.as_ptr(),
                    },
                );
            },
        }
    }
}
