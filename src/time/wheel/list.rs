//! A doubly linked list whose nodes live in the wheel's slab and link to each other by
//! slab key.
//!
//! **What this teaches.** Cancelling a timer must be O(1), and timers with equal deadlines
//! must fire first-in first-out. A doubly linked list gives both: a node knows its
//! neighbours, so it can unlink itself without a search, and appending at the tail keeps
//! arrival order. Instead of pointers (tokio's intrusive lists, which need `unsafe` and
//! pinned nodes), the links are generation-checked slab [`Key`]s: following a link is an
//! index into a `Vec`, and safe code cannot dangle.
//!
//! Rejected alternative: a `Vec` of keys per slot. Appending is cheap, but cancelling needs
//! either a linear `retain` (O(slot length)) or `swap_remove` with a back-index in each
//! entry (O(1), but it reorders the slot, so equal deadlines would no longer fire in FIFO
//! order).
//!
//! Next to read: `display.rs`, the inspector that draws the levels and their lists.

use crate::util::slab::{Key, Slab};

/// Which list an entry is on, so that `cancel` can find the list head in O(1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListId {
    /// Due now: fired by the next `poll`/`advance`, in this order.
    Due,
    /// Slot `slot` of level `level`.
    Slot { level: u8, slot: u8 },
    /// Beyond the wheel's range; moved into a level when the clock comes close.
    Overflow,
}

/// One timer: its deadline, its place in a list, and the caller's value.
#[derive(Debug)]
pub(crate) struct Entry<T> {
    pub(crate) deadline: u64,
    pub(crate) list: ListId,
    prev: Option<Key>,
    next: Option<Key>,
    pub(crate) value: T,
}

impl<T> Entry<T> {
    /// A node that is not linked into any list yet.
    pub(crate) fn new(deadline: u64, value: T) -> Self {
        Entry { deadline, list: ListId::Due, prev: None, next: None, value }
    }
}

/// The head and tail keys of one list. `Copy`, so the wheel can take a list out of its
/// slot, edit it together with the slab (two disjoint borrows), and store it back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct List {
    head: Option<Key>,
    tail: Option<Key>,
}

/// Follows a link that the list's own bookkeeping says is live. A miss is a wheel bug,
/// so it panics with the key rather than corrupting the list further.
fn node<T>(slab: &mut Slab<Entry<T>>, key: Key) -> &mut Entry<T> {
    slab.get_mut(key).unwrap_or_else(|| panic!("timer wheel list links to a removed entry {key:?}"))
}

impl List {
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// The first key, for walking the list (inspector, tests).
    pub(crate) fn head(&self) -> Option<Key> {
        self.head
    }

    /// The key after `key` (for walking the list).
    pub(crate) fn next_of<T>(slab: &Slab<Entry<T>>, key: Key) -> Option<Key> {
        slab.get(key).and_then(|entry| entry.next)
    }

    /// Appends the (unlinked) entry at `key`, recording `id` in it.
    pub(crate) fn push_back<T>(&mut self, slab: &mut Slab<Entry<T>>, key: Key, id: ListId) {
        let entry = node(slab, key);
        entry.list = id;
        entry.prev = self.tail;
        entry.next = None;
        match self.tail {
            Some(tail) => node(slab, tail).next = Some(key),
            None => self.head = Some(key),
        }
        self.tail = Some(key);
    }

    /// Unlinks and returns the first key; the entry stays in the slab.
    pub(crate) fn pop_front<T>(&mut self, slab: &mut Slab<Entry<T>>) -> Option<Key> {
        let key = self.head?;
        let next = node(slab, key).next.take();
        self.head = next;
        match next {
            Some(next) => node(slab, next).prev = None,
            None => self.tail = None,
        }
        Some(key)
    }

    /// Unlinks the entry at `key`, which stays in the slab (to be linked elsewhere).
    pub(crate) fn unlink_live<T>(&mut self, slab: &mut Slab<Entry<T>>, key: Key) {
        let entry = node(slab, key);
        let (prev, next) = (entry.prev.take(), entry.next.take());
        self.join(slab, prev, next);
    }

    /// Repairs the list after `removed` (already taken out of the slab) left it. O(1):
    /// this is why cancel is O(1).
    pub(crate) fn unlink<T>(&mut self, slab: &mut Slab<Entry<T>>, removed: &Entry<T>) {
        self.join(slab, removed.prev, removed.next);
    }

    /// Makes the two former neighbours of an unlinked node point at each other (or makes
    /// them the new head/tail).
    fn join<T>(&mut self, slab: &mut Slab<Entry<T>>, prev: Option<Key>, next: Option<Key>) {
        match prev {
            Some(prev) => node(slab, prev).next = next,
            None => self.head = next,
        }
        match next {
            Some(next) => node(slab, next).prev = prev,
            None => self.tail = prev,
        }
    }
}
