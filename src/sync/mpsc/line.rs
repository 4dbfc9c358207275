//! The line of senders waiting for room, and the permits that end their wait.
//!
//! **What this file teaches: a FIFO line split in two.** The senders at the front hold a
//! *permit*: a slot in the queue is reserved for each, and each was woken to fill it. The
//! rest wait for one. Permits go out strictly from the front (`grant_next`), so the
//! permit holders are always a prefix of the line, and one index, `boundary`, says where
//! the two parts meet. No sender's value is here: it stays in its `send` future until the
//! slot is its own (see `chan.rs` for why).
//!
//! **Leaving from the middle: a tombstone.** A sender may leave from anywhere (its future
//! was dropped: a `select!` lost, a timeout, an abort). Removing it from the middle of a
//! `VecDeque` shifts every sender behind it (or before it): with many senders cancelled in
//! random order that is O(n) each and O(n²) in all (a performance audit: 100 000 cancels
//! took 3× tokio's time, 400 000 took 12×). So a sender leaving from the middle is only
//! marked *gone*; tombstones at the front are popped at once, `grant_next` steps over
//! them, and when they outnumber the senders still waiting (plus a small allowance), one
//! pass drops them all, so each leave costs O(1) amortized. The same idea as the timer
//! wheel's tombstones (`time/wheel/list.rs`); the line stays sorted by ticket, so a
//! sender still finds itself by search (interpolation: tickets are consecutive until a sweep,
//! so the first guess is usually exact; `Line::position`).
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

/// The waiting senders, oldest first, and the tombstones of some that left.
///
/// # Invariants
///
/// * the entries before `boundary` hold a permit or are gone; those from it on hold none;
/// * `granted` counts the entries before `boundary` that are not gone;
/// * `gone` counts the tombstones; the front entry is never one;
/// * sorted by ticket (tickets only grow), so a sender finds itself by search.
#[derive(Debug, Default)]
pub(super) struct Line {
    waiting: VecDeque<Waiter>,
    /// Where the permit holders end (an index into `waiting`).
    boundary: usize,
    /// How many senders hold a permit.
    granted: usize,
    /// How many entries of `waiting` are tombstones.
    gone: usize,
    /// The ticket the next sender to join gets.
    next_ticket: u64,
}

/// A sender in line, or its tombstone. Its value is not here: it stays in the `send` future.
#[derive(Debug)]
struct Waiter {
    ticket: u64,
    /// `None` once taken to wake it: by a permit, or by `close`.
    waker: Option<Waker>,
    /// The sender left; only its place remains, until swept.
    gone: bool,
}

/// Tombstones allowed beyond one per live sender before a sweep: a small line never pays
/// for one, and a sweep's cost is always covered by as many leaves before it.
const TOMBSTONE_SLACK: usize = 32;

/// Interpolation guesses [`Line::position`] makes before it falls back to binary search.
const GUESSES: usize = 4;

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
        self.waiting.push_back(Waiter { ticket, waker: Some(waker), gone: false });
        Ticket(ticket)
    }

    /// Whether the sender under `ticket` holds a permit.
    ///
    /// # Panics
    ///
    /// If it is not in line: only its own future takes it out, and then forgets the ticket.
    pub(super) fn has_permit(&self, ticket: Ticket) -> bool {
        self.find(ticket).expect(IN_LINE) < self.boundary
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

    /// Takes the sender out of line, or `None` if it already left. O(1) amortized: its
    /// entry becomes a tombstone (see the module docs).
    pub(super) fn leave(&mut self, ticket: Ticket) -> Option<Left> {
        let index = self.find(ticket)?;
        let waiter = &mut self.waiting[index];
        waiter.gone = true;
        let left = Left { had_permit: index < self.boundary, waker: waiter.waker.take() };
        if left.had_permit {
            self.granted -= 1;
        }
        self.gone += 1;
        self.collect_garbage();
        Some(left)
    }

    /// Gives a permit to the oldest sender without one, and returns its waker to be woken
    /// outside the lock; `None` if every sender in line already holds one. The caller
    /// checked that a slot is free to be reserved, and that the channel is open.
    pub(super) fn grant_next(&mut self) -> Option<Waker> {
        while self.waiting.get(self.boundary).is_some_and(|waiter| waiter.gone) {
            self.boundary += 1; // a tombstone: nobody to give a permit to
        }
        let waiter = self.waiting.get_mut(self.boundary)?;
        self.boundary += 1;
        self.granted += 1;
        waiter.waker.take()
    }

    /// Takes every registered waker, for `close` to wake. Permit holders have none left:
    /// they were woken when they got their permit.
    pub(super) fn take_wakers(&mut self) -> Vec<Waker> {
        self.waiting.iter_mut().filter_map(|waiter| waiter.waker.take()).collect()
    }

    /// Where the sender under `ticket` stands, if it is still in line (not a tombstone).
    fn find(&self, ticket: Ticket) -> Option<usize> {
        let index = self.position(ticket.0)?;
        (!self.waiting[index].gone).then_some(index)
    }

    /// The index of the entry holding `ticket`, by *interpolation* search: guess the
    /// index from where the ticket falls between the tickets at both ends, then narrow.
    ///
    /// Why not plain binary search: every poll and every leave of a waiting sender looks
    /// itself up, and in a long line each of binary search's ~17 probes is a cache miss
    /// (a peer benchmark of 100 000 senders cancelled in random order spent a quarter of
    /// clockwork's time here). Tickets are handed out consecutively, so until a sweep
    /// removes entries from the middle the first guess is exact; after one, the survivors
    /// of random leaves are spread evenly and a guess or two lands on the entry (expected
    /// O(log log n)). A skewed line cannot make it slow: after [`GUESSES`] guesses the
    /// range left is finished by binary search.
    fn position(&self, ticket: u64) -> Option<usize> {
        let at = |index: usize| self.waiting[index].ticket;
        let (mut lo, mut hi) = (0, self.waiting.len()); // the entry, if any, is in lo..hi
        for _ in 0..GUESSES {
            if lo == hi || ticket < at(lo) || ticket > at(hi - 1) {
                return None;
            }
            let (first, last) = (at(lo), at(hi - 1));
            // `ticket - first <= last - first`, so the guess stays below `hi`.
            let offset = (ticket - first) as u128 * (hi - 1 - lo) as u128 / (last - first).max(1) as u128;
            let guess = lo + offset as usize;
            match at(guess).cmp(&ticket) {
                std::cmp::Ordering::Equal => return Some(guess),
                std::cmp::Ordering::Less => lo = guess + 1,
                std::cmp::Ordering::Greater => hi = guess,
            }
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match at(mid).cmp(&ticket) {
                std::cmp::Ordering::Equal => return Some(mid),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }

    /// Pops the tombstones at the front, and sweeps all of them once they outnumber the
    /// senders still in line by more than [`TOMBSTONE_SLACK`].
    fn collect_garbage(&mut self) {
        while self.waiting.front().is_some_and(|waiter| waiter.gone) {
            self.waiting.pop_front();
            self.gone -= 1;
            self.boundary = self.boundary.saturating_sub(1);
        }
        let live = self.waiting.len() - self.gone;
        if self.gone > live + TOMBSTONE_SLACK {
            let before_boundary = self.waiting.iter().take(self.boundary).filter(|w| !w.gone).count();
            self.waiting.retain(|waiter| !waiter.gone);
            self.boundary = before_boundary;
            self.gone = 0;
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use futures_task::noop_waker;

    /// Leaves in scrambled order, with permits granted along the way: the counts stay
    /// right, permits still go to the oldest senders without one, and the tombstones never
    /// outnumber the live senders by more than the slack (so each leave is O(1) amortized).
    #[test]
    fn leaving_from_anywhere_keeps_the_line_exact_and_small() {
        let mut line = Line::default();
        let tickets: Vec<Ticket> = (0..1000).map(|_| line.join(noop_waker())).collect();
        for _ in 0..10 {
            assert!(line.grant_next().is_some());
        }
        let mut order: Vec<usize> = (0..1000).collect();
        let mut x = 12345u32;
        for i in (1..order.len()).rev() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            order.swap(i, x as usize % (i + 1));
        }
        let mut permits = 10;
        for (n, &i) in order.iter().enumerate() {
            let left = line.leave(tickets[i]).expect("in line once");
            permits -= usize::from(left.had_permit);
            assert!(line.leave(tickets[i]).is_none(), "a second leave finds nobody");
            if n % 7 == 0 && line.grant_next().is_some() {
                permits += 1;
            }
            assert_eq!(line.granted(), permits);
            let live = line.waiting.len() - line.gone;
            assert_eq!(live, 1000 - n - 1);
            assert!(line.gone <= live + TOMBSTONE_SLACK, "{} tombstones for {live} senders", line.gone);
            assert!(line.waiting.front().is_none_or(|w| !w.gone), "a tombstone at the front");
            // The holders are exactly the live entries before the boundary.
            let holders = line.waiting.iter().take(line.boundary).filter(|w| !w.gone).count();
            assert_eq!(holders, permits);
        }
        assert!(line.waiting.is_empty());
    }

    /// `position` against a linear scan, on lines shaped by sweeps: evenly thinned, one
    /// old sender ahead of a far-away crowd, and runs of leaves from one end.
    #[test]
    fn interpolation_finds_exactly_what_a_scan_finds() {
        // Smaller under Miri: `check` is quadratic, and Miri interprets every step.
        let n = if cfg!(miri) { 300 } else { 3000 };
        let mut line = Line::default();
        let tickets: Vec<Ticket> = (0..n).map(|_| line.join(noop_waker())).collect();
        let check = |line: &Line| {
            let end = line.next_ticket + 2;
            for ticket in 0..end {
                let scan = line.waiting.iter().position(|w| w.ticket == ticket);
                assert_eq!(line.position(ticket), scan, "ticket {ticket}");
            }
        };
        check(&line);
        // Every third sender leaves; then all but the first of the first two thirds.
        for ticket in tickets.iter().step_by(3) {
            line.leave(*ticket);
        }
        check(&line);
        for ticket in &tickets[1..n * 2 / 3] {
            line.leave(*ticket);
        }
        check(&line);
        for _ in 0..50 {
            line.join(noop_waker());
        }
        check(&line);
    }
}
