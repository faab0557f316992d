//! Locks taken through a poison: a poisoned lock only means a panic elsewhere while it was
//! held. The callers keep maps of whole, immutable entries (caches, listener lists,
//! counters), which stay consistent, so serving on beats failing every later request.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex, RwLock};

    use super::*;

    #[test]
    fn a_poisoned_lock_still_gives_its_data() {
        let map = Arc::new(RwLock::new(vec![1]));
        let mutex = Arc::new(Mutex::new(2));
        let (m, x) = (map.clone(), mutex.clone());
        let _ = std::thread::spawn(move || {
            let _held = m.write().unwrap();
            let _also = x.lock().unwrap();
            panic!("poison both");
        })
        .join();
        assert!(map.is_poisoned() && mutex.is_poisoned());
        write(&map).push(3);
        assert_eq!(*read(&map), vec![1, 3]);
        assert_eq!(*lock(&mutex), 2);
    }
}
