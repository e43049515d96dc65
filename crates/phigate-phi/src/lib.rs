//! Structural protection against PHI reaching logs, errors or panics.
//!
//! Every value that may hold protected health information travels inside
//! [`Phi<T>`]. Its `Debug` and `Display` print a fixed marker, never the value,
//! so a stray `tracing::info!("{:?}", record)` or an `Error` that captures a
//! field cannot leak an identifier. Reading the value is an explicit, greppable
//! call ([`Phi::expose`]); the value is zeroized when dropped where the type
//! supports it.
#![warn(missing_docs)]

use std::fmt;

use zeroize::Zeroize;

/// What `Debug`/`Display` print in place of a PHI value.
pub const REDACTED: &str = "[PHI]";

/// A value that holds (or may hold) protected health information.
///
/// Deliberately does not implement `Serialize`, `Display` of the value, or
/// `Deref`: each read is a visible `expose()` at the point of use.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Phi<T: Zeroize>(T);

impl<T: Zeroize> Phi<T> {
    /// Wraps a value that holds PHI.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Borrows the PHI. Call sites are where PHI is used; keep them few.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Mutably borrows the PHI.
    pub fn expose_mut(&mut self) -> &mut T {
        &mut self.0
    }

    /// Takes the value out. The caller becomes responsible for not printing it.
    pub fn into_inner(mut self) -> T
    where
        T: Default,
    {
        std::mem::take(&mut self.0)
    }
}

impl<T: Zeroize> Drop for Phi<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Phi<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: Zeroize> fmt::Display for Phi<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: Zeroize> From<T> for Phi<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let phi = Phi::new(String::from("Jane Canary-Doe 123-45-6789"));
        assert_eq!(format!("{phi:?}"), REDACTED);
        assert_eq!(format!("{phi}"), REDACTED);
        assert_eq!(format!("{:?}", Some(&phi)), format!("Some({REDACTED})"));
        assert_eq!(phi.expose(), "Jane Canary-Doe 123-45-6789");
    }

    #[test]
    fn into_inner_returns_the_value() {
        let phi = Phi::new(vec![1u8, 2, 3]);
        assert_eq!(phi.into_inner(), vec![1, 2, 3]);
    }
}
