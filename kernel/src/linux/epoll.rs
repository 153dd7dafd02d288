//! epoll (man 7 epoll): an interest list of (fd, open file) pairs with
//! event masks, level- or edge-triggered, one-shot, exclusive.
//!
//! Readiness is polled from the files (`File::poll`) when a waiter looks;
//! waiters sleep on the global I/O event queue. Edge-triggered entries are
//! reported again only after some file state changed since their last
//! report (a global generation count), which may add a spurious wake-up but
//! never loses one; consumers of edge-triggered epoll read until EAGAIN.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;

use oxv_abi::errno::Errno;
use oxv_hal::sync::SpinLock;
use oxv_vfs::Metadata;

use super::anon_inode::anon_inode_metadata;
use super::file::{File, OpenFile, POLLIN};

pub(crate) const EPOLLERR: u32 = 0x8;
pub(crate) const EPOLLHUP: u32 = 0x10;
pub(crate) const EPOLLEXCLUSIVE: u32 = 1 << 28;
pub(crate) const EPOLLWAKEUP: u32 = 1 << 29;
pub(crate) const EPOLLONESHOT: u32 = 1 << 30;
pub(crate) const EPOLLET: u32 = 1 << 31;

struct Interest {
    file: Weak<OpenFile>,
    events: u32,
    data: u64,
    /// One-shot entry already reported (disabled until EPOLL_CTL_MOD).
    fired: bool,
    /// Generation at the last edge-triggered report.
    seen_gen: u64,
}

/// An epoll instance.
pub(crate) struct Epoll {
    interests: SpinLock<BTreeMap<i32, Interest>>,
}

impl Epoll {
    pub(crate) fn new() -> Self {
        Self {
            interests: SpinLock::new(BTreeMap::new()),
        }
    }

    /// EPOLL_CTL_ADD.
    pub(crate) fn add(
        &self,
        fd: i32,
        file: &Arc<OpenFile>,
        events: u32,
        data: u64,
    ) -> Result<(), Errno> {
        let mut m = self.interests.lock();
        if m.get(&fd)
            .is_some_and(|i| i.file.upgrade().is_some_and(|f| Arc::ptr_eq(&f, file)))
        {
            return Err(Errno::EEXIST);
        }
        m.insert(
            fd,
            Interest {
                file: Arc::downgrade(file),
                events,
                data,
                fired: false,
                seen_gen: u64::MAX,
            },
        );
        Ok(())
    }

    /// EPOLL_CTL_MOD.
    pub(crate) fn modify(
        &self,
        fd: i32,
        file: &Arc<OpenFile>,
        events: u32,
        data: u64,
    ) -> Result<(), Errno> {
        let mut m = self.interests.lock();
        let i = m
            .get_mut(&fd)
            .filter(|i| i.file.upgrade().is_some_and(|f| Arc::ptr_eq(&f, file)))
            .ok_or(Errno::ENOENT)?;
        if i.events & EPOLLEXCLUSIVE != 0 {
            return Err(Errno::EINVAL);
        }
        *i = Interest {
            file: Arc::downgrade(file),
            events,
            data,
            fired: false,
            seen_gen: u64::MAX,
        };
        Ok(())
    }

    /// EPOLL_CTL_DEL.
    pub(crate) fn delete(&self, fd: i32, file: &Arc<OpenFile>) -> Result<(), Errno> {
        let mut m = self.interests.lock();
        match m.get(&fd) {
            Some(i) if i.file.upgrade().is_some_and(|f| Arc::ptr_eq(&f, file)) => {
                m.remove(&fd);
                Ok(())
            }
            _ => Err(Errno::ENOENT),
        }
    }

    /// Ready events, at most `max` (event mask, user data).
    pub(crate) fn collect(&self, max: usize) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let mut m = self.interests.lock();
        m.retain(|_, i| i.file.strong_count() > 0);
        for i in m.values_mut() {
            if out.len() >= max {
                break;
            }
            if i.fired {
                continue;
            }
            let Some(f) = i.file.upgrade() else { continue };
            let r = u32::from(f.file.poll()) & (i.events | EPOLLERR | EPOLLHUP);
            if r == 0 {
                continue;
            }
            if i.events & EPOLLET != 0 {
                let gen = f.file.event_gen();
                if i.seen_gen == gen {
                    continue;
                }
                i.seen_gen = gen;
            }
            if i.events & EPOLLONESHOT != 0 {
                i.fired = true;
            }
            out.push((r, i.data));
        }
        out
    }

    /// Whether `target` is reachable from this instance through nested
    /// epoll instances (adding it would make a cycle), or nesting is
    /// deeper than Linux's limit (EPOLL_MAX_NESTS, 4).
    pub(crate) fn reaches(&self, target: &Arc<OpenFile>, depth: usize) -> bool {
        if depth > 4 {
            return true;
        }
        let files: Vec<Arc<OpenFile>> = self
            .interests
            .lock()
            .values()
            .filter_map(|i| i.file.upgrade())
            .collect();
        files.iter().any(|f| {
            Arc::ptr_eq(f, target)
                || f.file
                    .as_any()
                    .downcast_ref::<Epoll>()
                    .is_some_and(|e| e.reaches(target, depth + 1))
        })
    }

    /// The earliest time a watched file changes by itself (timerfd).
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.interests
            .lock()
            .values()
            .filter_map(|i| i.file.upgrade())
            .filter_map(|f| f.file.deadline())
            .min()
    }
}

impl File for Epoll {
    fn poll(&self) -> u16 {
        // An epoll fd is readable when it has ready events (without
        // consuming edge-triggered or one-shot state).
        let m = self.interests.lock();
        let ready = m.values().any(|i| {
            !i.fired
                && i.file.upgrade().is_some_and(|f| {
                    u32::from(f.file.poll()) & (i.events | EPOLLERR | EPOLLHUP) != 0
                })
        });
        if ready {
            POLLIN
        } else {
            0
        }
    }

    fn deadline(&self) -> Option<u64> {
        self.next_deadline()
    }

    fn metadata(&self) -> Metadata {
        anon_inode_metadata()
    }

    fn describe(&self) -> Vec<u8> {
        b"anon_inode:[eventpoll]".to_vec()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
