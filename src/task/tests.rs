//! Unit tests of the task core (placeholder, filled below).
