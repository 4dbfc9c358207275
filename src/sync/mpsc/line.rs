//! The line of senders waiting for room, and the permits that end their wait.
//!
//! **What this file teaches: a FIFO line split in two.** The senders at the front hold a
//! *permit*: a slot in the queue is reserved for each, and each was woken to fill it. The
//! rest wait for one. Permits go out strictly from the front (`grant_next`), and a sender
//! leaves from wherever it stands, so the permit holders are always a prefix of the line
//! and one number, `granted`, says where the two parts meet. No sender's value is here:
//! it stays in its `send` future until the slot is its own (see `chan.rs` for why).
//!
//! A waiting sender's life (the functions named are `Chan`'s, in `chan.rs`):
//!
//! | from | event | to | function |
//! |---|---|---|---|
//! | (none) | `send` finds the channel full | in line, no permit | `send_or_park` → `join` |
//! | no permit | the receiver frees a slot | permit; woken | `try_recv` → `grant_next` |
//! | no permit | a permit holder ahead gives up | permit; woken | `cancel_waiting` → `grant_next` |
//! | no permit | polled, still full | unchanged (waker refreshed) | `poll_waiting` → `set_waker` |
//! | no permit | future dropped | gone; nothing else changes | `cancel_waiting` → `leave` |
//! | permit | polled | gone; its value fills the slot: `Ok` | `poll_waiting` → `leave` |
//! | permit | future dropped | gone; the permit to the next, or the slot freed | `cancel_waiting` |
//! | either | `close` or receiver drop | woken (a permit holder was already); next poll: gone, `Err(value)` | `close` → `take_wakers` |
//!
//! Next to read: `src/future/mod.rs`.

use std::collections::VecDeque;
use std::task::Waker;

/// The waiting senders, oldest first.
///
/// # Invariants
///
/// * the first `granted` senders hold a permit, the others do not;
/// * sorted by ticket (tickets only grow), so a sender finds itself by binary search.
#[derive(Debug, Default)]
pub(super) struct Line {
    waiting: VecDeque<Waiter>,
    /// How many senders at the front hold a permit.
    granted: usize,
    /// The ticket the next sender to join gets.
    next_ticket: u64,
}

/// A sender in line. Its value is not here: it stays in the `send` future.
#[derive(Debug)]
struct Waiter {
    ticket: u64,
    /// `None` once taken to wake it: by a permit, or by `close`.
    waker: Option<Waker>,
}

/// A waiting sender's handle on its place in line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ticket(u64);

/// A sender that left the line.
#[derive(Debug)]
pub(super) struct Left {
    /// It held a permit: its reserved slot must be filled, or passed on.
    pub(super) had_permit: bool,
    /// Its waker, if nobody took it; to be dropped outside the channel's lock.
    pub(super) waker: Option<Waker>,
}

const IN_LINE: &str = "a waiting sender stays in line until its own future takes it out";

impl Line {
    /// How many permits are out: slots reserved for senders that have not filled them yet.
    pub(super) fn granted(&self) -> usize {
        self.granted
    }

    /// Joins the back of the line, without a permit.
    pub(super) fn join(&mut self, waker: Waker) -> Ticket {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.waiting.push_back(Waiter { ticket, waker: Some(waker) });
        Ticket(ticket)
    }

    /// Whether the sender under `ticket` holds a permit.
    ///
    /// # Panics
    ///
    /// If it is not in line: only its own future takes it out, and then forgets the ticket.
    pub(super) fn has_permit(&self, ticket: Ticket) -> bool {
        self.find(ticket).expect(IN_LINE) < self.granted
    }

    /// Whether waking the sender's registered waker would wake `waker`'s task. Not user
    /// code: `will_wake` only compares pointers, so it may run under the lock.
    pub(super) fn wakes(&self, ticket: Ticket, waker: &Waker) -> bool {
        let waiter = &self.waiting[self.find(ticket).expect(IN_LINE)];
        waiter.waker.as_ref().is_some_and(|registered| registered.will_wake(waker))
    }

    /// Registers the sender's new waker; returns the old one, to be dropped unlocked.
    pub(super) fn set_waker(&mut self, ticket: Ticket, waker: Waker) -> Option<Waker> {
        let index = self.find(ticket).expect(IN_LINE);
        self.waiting[index].waker.replace(waker)
    }

    /// Takes the sender out of line, or `None` if it already left.
    pub(super) fn leave(&mut self, ticket: Ticket) -> Option<Left> {
        let index = self.find(ticket)?;
        let waiter = self.waiting.remove(index).expect("index from find");
        let had_permit = index < self.granted;
        if had_permit {
            self.granted -= 1; // the holders stay a prefix: we removed one of them
        }
        Some(Left { had_permit, waker: waiter.waker })
    }

    /// Gives a permit to the oldest sender without one, and returns its waker to be woken
    /// outside the lock; `None` if every sender in line already holds one. The caller
    /// checked that a slot is free to be reserved, and that the channel is open.
    pub(super) fn grant_next(&mut self) -> Option<Waker> {
        let waiter = self.waiting.get_mut(self.granted)?;
        self.granted += 1;
        waiter.waker.take()
    }

    /// Takes every registered waker, for `close` to wake. Permit holders have none left:
    /// they were woken when they got their permit.
    pub(super) fn take_wakers(&mut self) -> Vec<Waker> {
        self.waiting.iter_mut().filter_map(|waiter| waiter.waker.take()).collect()
    }

    /// Where `ticket` stands in line, if it is still there.
    fn find(&self, ticket: Ticket) -> Option<usize> {
        self.waiting.binary_search_by_key(&ticket.0, |waiter| waiter.ticket).ok()
    }
}
