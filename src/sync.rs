//! The one lock-poisoning policy: a panic while holding a lock does not make the data unusable
//! for everyone else. Every critical section here leaves the data consistent (single
//! assignments or whole-value swaps), so the value is taken as it is and work goes on; the
//! panic itself is reported by the worker supervisor or the request that hit it.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

pub fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
